"""A recording HTTP proxy in front of a DynamoDB endpoint: what the traffic through it would cost on AWS.

Every request is forwarded unchanged (method, path, headers - ``Host`` included - and body), and every
response comes back unchanged, so clients cannot tell the proxy is there. While :attr:`recording` is on,
each DynamoDB data-plane operation (``X-Amz-Target: DynamoDB_20120810.<Op>``) is costed with
:mod:`bench.cost.capacity`:

* writes (PutItem, UpdateItem, DeleteItem, each item of BatchWriteItem and TransactWriteItems) need the item
  before and after: the proxy reads the old item with a consistent GetItem/BatchGetItem before forwarding,
  and after forwarding takes the new one from the request (puts), as gone (deletes) or reads it again
  (updates). Writes to the same item are serialised inside the proxy while this happens, so concurrent
  writers (the ingest function has 8 in flight) cannot slip a change between "before" and "after";
* reads are costed from the response (the items returned, ``ConsistentRead``). A read that returns less
  than it reads (``ProjectionExpression``, ``Select``, a filter) is billed on the whole items read, so the
  proxy repeats it without those for the costing;
* table descriptions (key schema, indexes, projections) come from DescribeTable, cached;
* writes can also be tallied per *kind* of item: ``kind_of(table, key)`` (a constructor argument) names the
  kind of each written item from its key (LanesTable's aggregates vs its per-shipment predictions, say);
  an item of no kind (None) counts only in its table.

The proxy's own calls (prefetch, repeats, DescribeTable) go straight to the upstream and are not counted.

Signatures: the client signs for the proxy's address, and the proxy forwards the ``Host`` header and body
as they were, so the signature still matches the request the upstream receives - but it was computed for the
proxy's host, so a real AWS endpoint (which also needs TLS) would reject it. The proxy is for local emulators
(moto, LocalStack, DynamoDB Local), which do not verify signatures.

Non-DynamoDB requests (SNS, SQS... when a whole endpoint is proxied) are forwarded and not recorded.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from bench.cost.capacity import (
    TableSchema,
    WriteCost,
    batch_get_units,
    get_units,
    item_size,
    query_units,
    write_cost,
)

__all__ = ["DynamoDBRecorder", "Meter", "Tally"]

TARGET_PREFIX = "DynamoDB_20120810."
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                        "transfer-encoding", "upgrade", "content-length"})
WRITE_OPS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
READ_OPS = frozenset({"GetItem", "BatchGetItem", "TransactGetItems", "Query", "Scan"})
# Parameters that make a read return less than it reads (billing counts what is read).
NARROWING = ("ProjectionExpression", "AttributesToGet", "Select", "FilterExpression", "QueryFilter", "ScanFilter",
             "ConditionalOperator")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/")
_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")
LOCK_STRIPES = 256

Item = dict[str, Any]


# -- tallies -----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Units and counts for one table or one index."""

    write_units: float = 0.0
    read_units: float = 0.0
    requests: int = 0  # API requests naming the table / index (a batch naming two tables counts for both)
    items_written: int = 0  # table: items written; index: index entries put or deleted
    items_read: int = 0
    bytes_written: int = 0  # table: the larger of each written item's sizes before and after (what is billed)


class Meter:
    """Thread-safe totals per table and per (table, index), and a count of operations per table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tables: dict[str, Tally] = {}
        self.indexes: dict[tuple[str, str], Tally] = {}
        self.operations: Counter[tuple[str, str]] = Counter()
        self.unrecorded: Counter[str] = Counter()  # control-plane and other requests seen while recording
        self.kinds: dict[tuple[str, str], Tally] = {}  # (table, kind of item) -> its share of the table's writes

    def _table(self, table: str) -> Tally:
        return self.tables.setdefault(table, Tally())

    def _index(self, table: str, index: str) -> Tally:
        return self.indexes.setdefault((table, index), Tally())

    def request(self, table: str, op: str, index: str | None = None) -> None:
        """One API request touching ``table`` (through ``index`` for an index Query/Scan)."""
        with self._lock:
            self._table(table).requests += 1
            self.operations[(table, op)] += 1
            if index is not None:
                self._index(table, index).requests += 1

    def write(self, table: str, cost: WriteCost, size: int = 0, kind: str | None = None) -> None:
        """One item written (or a failed conditional write) of billed ``size``, and its index maintenance;
        with a ``kind``, also counted (item and indexes) under that kind of the table's items."""
        with self._lock:
            tally = self._table(table)
            tally.write_units += cost.table_units
            tally.items_written += 1
            tally.bytes_written += size
            if kind is not None:
                share = self.kinds.setdefault((table, kind), Tally())
                share.write_units += cost.table_units + sum(cost.index_units.values())
                share.items_written += 1
                share.bytes_written += size
            for name, units in cost.index_units.items():
                index = self._index(table, name)
                index.write_units += units
                index.items_written += cost.index_writes.get(name, 0)

    def read(self, table: str, units: float, items: int, index: str | None = None) -> None:
        """Read units consumed on ``table`` (or on one of its indexes)."""
        with self._lock:
            tally = self._index(table, index) if index is not None else self._table(table)
            tally.read_units += units
            tally.items_read += items

    def note_unrecorded(self, op: str) -> None:
        with self._lock:
            self.unrecorded[op] += 1

    def reset(self) -> None:
        """Forget everything counted so far."""
        with self._lock:
            self.tables.clear()
            self.indexes.clear()
            self.operations.clear()
            self.unrecorded.clear()
            self.kinds.clear()

    def snapshot(self) -> dict[str, Any]:
        """``{"tables": {name: {...tally, "operations": {...}, "indexes": {name: {...tally}},
        "kinds": {kind: {...tally}}}}, "unrecorded": ...}``.

        A table's ``write_units`` / ``read_units`` are its own; its indexes' are listed under ``indexes``. A
        kind's ``write_units`` include the index maintenance its items caused.
        """
        with self._lock:
            names = sorted({*self.tables, *(t for t, _ in self.indexes)})
            tables = {}
            for name in names:
                row: dict[str, Any] = asdict(self.tables.get(name, Tally()))
                row["operations"] = {op: n for (t, op), n in sorted(self.operations.items()) if t == name}
                row["indexes"] = {i: asdict(tally) for (t, i), tally in sorted(self.indexes.items()) if t == name}
                row["kinds"] = {k: asdict(tally) for (t, k), tally in sorted(self.kinds.items()) if t == name}
                tables[name] = row
            return {"tables": tables, "unrecorded": dict(self.unrecorded)}


# -- upstream HTTP -----------------------------------------------------------------------------------


@dataclass
class _Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> dict[str, Any]:
        body = self.body
        if any(k.lower() == "content-encoding" and v.lower() == "gzip" for k, v in self.headers):
            body = gzip.decompress(body)
        return json.loads(body) if body else {}

    @property
    def error_type(self) -> str:
        """The DynamoDB error's short name (``ConditionalCheckFailedException``), or "" for a success."""
        if self.status < 400:
            return ""
        with contextlib.suppress(ValueError):
            return str(self.json().get("__type", "")).rsplit("#", 1)[-1]
        return ""


class _Upstream:
    """Keep-alive HTTP connections to the upstream endpoint, one per thread."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint: {url!r}")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._local = threading.local()

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=120)
            self._local.conn = conn
        return conn

    def request(self, method: str, path: str, body: bytes, headers: Sequence[tuple[str, str]]) -> _Response:
        """Send one request; a keep-alive connection the server closed meanwhile is retried once."""
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt == 1)
            try:
                conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for key, value in headers:
                    conn.putheader(key, value)
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                conn.close()
                if attempt:
                    raise
                continue
            if response.will_close:
                conn.close()
                self._local.conn = None
            return _Response(response.status, response.reason, list(response.getheaders()), data)
        raise AssertionError("unreachable")


class _SideChannel:
    """The proxy's own DynamoDB calls to the upstream (signed with dummy credentials; not recorded)."""

    def __init__(self, upstream: _Upstream) -> None:
        self.upstream = upstream
        self._schemas: dict[tuple[str, str], TableSchema] = {}
        self._lock = threading.Lock()

    def call(self, op: str, payload: Mapping[str, Any], scope: tuple[str, str]) -> tuple[int, dict[str, Any]]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        access_key, region = scope
        body = json.dumps(payload).encode()
        request = AWSRequest(method="POST", url=self.upstream.url + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET_PREFIX + op})
        # Emulators key their data by region (and account, from the access key): sign like the client did.
        SigV4Auth(Credentials(access_key, "testing", "testing"), "dynamodb", region).add_auth(request)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() != "content-length"]
        headers.append(("Host", urlsplit(self.upstream.url).netloc))
        response = self.upstream.request("POST", "/", body, headers)
        return response.status, response.json()

    def schema(self, table: str, scope: tuple[str, str]) -> TableSchema:
        key = (scope[1], table)
        with self._lock:
            cached = self._schemas.get(key)
        if cached is not None:
            return cached
        status, body = self.call("DescribeTable", {"TableName": table}, scope)
        if status != 200:
            raise RuntimeError(f"DescribeTable {table}: {status} {body}")
        schema = TableSchema.from_description(body["Table"])
        with self._lock:
            self._schemas[key] = schema
        return schema

    def get_items(self, table: str, keys: Sequence[Item], scope: tuple[str, str]) -> list[Item | None]:
        """The current items (consistent reads) for ``keys``, in order; None where there is none."""
        if not keys:
            return []
        if len(keys) == 1:
            status, body = self.call("GetItem", {"TableName": table, "Key": keys[0], "ConsistentRead": True}, scope)
            if status != 200:
                raise RuntimeError(f"GetItem {table}: {status} {body}")
            return [body.get("Item")]
        schema = self.schema(table, scope)
        found: dict[str, Item] = {}
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {table: {"Keys": list(keys[start:start + 100]), "ConsistentRead": True}}
            for _ in range(20):
                status, body = self.call("BatchGetItem", {"RequestItems": request}, scope)
                if status != 200:
                    raise RuntimeError(f"BatchGetItem {table}: {status} {body}")
                for item in body.get("Responses", {}).get(table, []):
                    found[_key_text(schema.key_of(item))] = item
                request = body.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.01)
        return [found.get(_key_text(k)) for k in keys]


def _key_text(key: Mapping[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


def _table_name(name: str) -> str:
    """A table name from a name or an ARN (``arn:aws:dynamodb:...:table/NAME``)."""
    return name.split(":table/", 1)[1].split("/", 1)[0] if name.startswith("arn:") else name


def _scope(headers: Mapping[str, str]) -> tuple[str, str]:
    """(access key, region) of the client's signature; the proxy's own calls use the same."""
    match = _CREDENTIAL.search(headers.get("authorization", ""))
    return (match.group(1), match.group(2)) if match else ("testing", "us-east-1")


# -- the proxy ---------------------------------------------------------------------------------------


@dataclass
class _Write:
    """One item write inside a request."""

    table: str
    key: Item
    kind: str  # put | update | delete | check
    item: Item | None = None  # the new item of a put
    transactional: bool = False
    request: Any = None  # the BatchWriteItem entry, to match UnprocessedItems
    old: Item | None = None
    new: Item | None = None
    billed: bool = True
    succeeded: bool = True


@dataclass
class _Stripes:
    """Locks by item key: writes to one item go through the proxy one at a time."""

    locks: list[threading.Lock] = field(default_factory=lambda: [threading.Lock() for _ in range(LOCK_STRIPES)])

    @contextlib.contextmanager
    def holding(self, writes: Sequence[_Write]) -> Iterator[None]:
        # Sorted: two requests taking overlapping stripes cannot deadlock.
        indices = sorted({hash((w.table, _key_text(w.key))) % LOCK_STRIPES for w in writes})
        for i in indices:
            self.locks[i].acquire()
        try:
            yield
        finally:
            for i in reversed(indices):
                self.locks[i].release()


class DynamoDBRecorder:
    """The proxy. ``upstream`` may be set after construction (start the proxy first, the emulator later)::

        with DynamoDBRecorder(endpoint) as recorder:
            client = boto3.client("dynamodb", endpoint_url=recorder.url, ...)
            recorder.recording = True
            ...
            print(recorder.meter.snapshot())
    """

    def __init__(self, upstream: str | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 recording: bool = False, kind_of: Callable[[str, Mapping[str, Any]], str | None] | None = None
                 ) -> None:
        self.host = host
        self.kind_of = kind_of  # (table, item key) -> the kind of item, for Meter.kinds
        self.port = port
        self.recording = recording
        self.meter = Meter()
        self.errors: list[str] = []  # costing failures (the request itself was still forwarded)
        self.last_activity = time.monotonic()  # of the last DynamoDB request seen (any, recorded or not)
        self._upstream: _Upstream | None = None
        self._side: _SideChannel | None = None
        self._stripes = _Stripes()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if upstream:
            self.upstream = upstream

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def upstream(self) -> str | None:
        """The endpoint requests are forwarded to."""
        return self._upstream.url if self._upstream else None

    @upstream.setter
    def upstream(self, url: str) -> None:
        self._upstream = _Upstream(url)
        self._side = _SideChannel(self._upstream)

    @property
    def url(self) -> str:
        """``http://host:port`` of the proxy (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the recorder is not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> str:
        """Listen (a free port unless one was given) and serve in a daemon thread; returns :attr:`url`."""
        recorder = self

        class Handler(_Handler):
            owner = recorder

        self._server = _Server((self.host, self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="dynamodb-recorder", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving (safe to call twice)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> DynamoDBRecorder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Zero the meter and the error list."""
        self.meter.reset()
        self.errors.clear()

    # -- one request -------------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> _Response:
        """Forward one request (costing it when it is a DynamoDB operation and recording is on)."""
        if self._upstream is None:
            return _Response(503, "Service Unavailable", [("Content-Type", "text/plain")], b"no upstream yet")
        lowered = {k.lower(): v for k, v in headers}
        target = lowered.get("x-amz-target", "")
        forward = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        if not target.startswith(TARGET_PREFIX):
            return self._upstream.request(method, path, body, forward)
        self.last_activity = time.monotonic()
        op = target[len(TARGET_PREFIX):]
        if not self.recording or op not in WRITE_OPS | READ_OPS:
            if self.recording:
                self.meter.note_unrecorded(op)
            return self._upstream.request(method, path, body, forward)
        scope = _scope(lowered)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return self._upstream.request(method, path, body, forward)
        upstream = self._upstream

        def send() -> _Response:
            return upstream.request(method, path, body, forward)

        try:
            if op in WRITE_OPS:
                return self._write(op, payload, scope, send)
            response = send()
            self._read(op, payload, response, scope)
            return response
        finally:
            self.last_activity = time.monotonic()

    def _error(self, op: str, exc: BaseException) -> None:
        if len(self.errors) < 100:
            self.errors.append(f"{op}: {type(exc).__name__}: {exc}")

    # -- writes ------------------------------------------------------------------------------------
    def _writes(self, op: str, payload: Mapping[str, Any], scope: tuple[str, str]) -> list[_Write]:
        assert self._side is not None
        side = self._side
        if op in ("PutItem", "UpdateItem", "DeleteItem"):
            table = _table_name(payload["TableName"])
            if op == "PutItem":
                item = payload["Item"]
                return [_Write(table, side.schema(table, scope).key_of(item), "put", item)]
            return [_Write(table, payload["Key"], "update" if op == "UpdateItem" else "delete")]
        writes: list[_Write] = []
        if op == "BatchWriteItem":
            for name, entries in payload.get("RequestItems", {}).items():
                table = _table_name(name)
                for entry in entries:
                    if "PutRequest" in entry:
                        item = entry["PutRequest"]["Item"]
                        writes.append(_Write(table, side.schema(table, scope).key_of(item), "put", item,
                                             request=entry))
                    else:
                        writes.append(_Write(table, entry["DeleteRequest"]["Key"], "delete", request=entry))
            return writes
        for action in payload.get("TransactItems", []):  # TransactWriteItems
            ((kind, spec),) = action.items()
            table = _table_name(spec["TableName"])
            if kind == "Put":
                writes.append(_Write(table, side.schema(table, scope).key_of(spec["Item"]), "put", spec["Item"],
                                     transactional=True))
            else:
                writes.append(_Write(table, spec["Key"], {"Update": "update", "Delete": "delete"}.get(kind, "check"),
                                     transactional=True))
        return writes

    def _write(self, op: str, payload: Mapping[str, Any], scope: tuple[str, str],
               send: Callable[[], _Response]) -> _Response:
        assert self._side is not None
        try:
            writes = self._writes(op, payload, scope)
        except Exception as exc:  # cannot cost it: still forward it
            self._error(op, exc)
            return send()
        with self._stripes.holding(writes):
            try:
                self._fetch_old(writes, scope)
            except Exception as exc:
                self._error(op, exc)
                return send()
            response: _Response = send()
            try:
                self._settle(op, writes, response, scope)
            except Exception as exc:
                self._error(op, exc)
                return response
        for table in {w.table for w in writes}:
            self.meter.request(table, op)
        for w in writes:
            if w.billed:
                schema = self._side.schema(w.table, scope)
                self.meter.write(w.table, write_cost(schema, w.old, w.new, transactional=w.transactional,
                                                     succeeded=w.succeeded),
                                 max(item_size(w.old), item_size(w.new)),
                                 self.kind_of(w.table, w.key) if self.kind_of else None)
        return response

    def _fetch_old(self, writes: Sequence[_Write], scope: tuple[str, str]) -> None:
        assert self._side is not None
        by_table: dict[str, list[_Write]] = {}
        for w in writes:
            by_table.setdefault(w.table, []).append(w)
        for table, group in by_table.items():
            for w, old in zip(group, self._side.get_items(table, [w.key for w in group], scope), strict=True):
                w.old = old

    def _settle(self, op: str, writes: Sequence[_Write], response: _Response, scope: tuple[str, str]) -> None:
        """Which writes happened (and are billed), and the items after them."""
        assert self._side is not None
        error = response.error_type
        if error:
            # A failed condition still consumes the existing item's size on the table; so does a cancelled
            # transaction (every action was prepared). Validation errors, throttling... consume nothing.
            failed = error == "ConditionalCheckFailedException" or (
                op == "TransactWriteItems" and error == "TransactionCanceledException")
            for w in writes:
                w.billed, w.succeeded, w.new = failed, False, w.old
            return
        if op == "BatchWriteItem":
            unprocessed = response.json().get("UnprocessedItems") or {}
            left = [entry for entries in unprocessed.values() for entry in entries]
            for w in writes:
                if w.request in left:
                    w.billed = False
        updates = [w for w in writes if w.kind == "update" and w.billed]
        for w in writes:
            if w.kind == "put":
                w.new = w.item
            elif w.kind == "check":
                w.new = w.old  # a ConditionCheck reads the item, changes nothing
        by_table: dict[str, list[_Write]] = {}
        for w in updates:
            by_table.setdefault(w.table, []).append(w)
        for table, group in by_table.items():
            for w, new in zip(group, self._side.get_items(table, [w.key for w in group], scope), strict=True):
                w.new = new

    # -- reads -------------------------------------------------------------------------------------
    def _read(self, op: str, payload: Mapping[str, Any], response: _Response, scope: tuple[str, str]) -> None:
        if response.status != 200:
            return  # errors (validation, throttling) consume no read capacity
        try:
            body = response.json()
            if op in ("Query", "Scan"):
                self._read_query(op, payload, body, scope)
            elif op == "GetItem":
                table = _table_name(payload["TableName"])
                item = body.get("Item")
                if _narrowed(payload):
                    item = self._full_items(table, [payload["Key"]], scope)[0]
                self.meter.request(table, op)
                self.meter.read(table, get_units(item, consistent=bool(payload.get("ConsistentRead"))),
                                1 if item else 0)
            elif op == "BatchGetItem":
                self._read_batch(payload, body, scope)
            else:  # TransactGetItems
                self._read_transact(payload, body, scope)
        except Exception as exc:
            self._error(op, exc)

    def _full_items(self, table: str, keys: Sequence[Item], scope: tuple[str, str]) -> list[Item | None]:
        assert self._side is not None
        return self._side.get_items(table, keys, scope)

    def _read_batch(self, payload: Mapping[str, Any], body: Mapping[str, Any], scope: tuple[str, str]) -> None:
        assert self._side is not None
        unprocessed = body.get("UnprocessedKeys") or {}
        for name, request in payload.get("RequestItems", {}).items():
            table = _table_name(name)
            left = (unprocessed.get(name) or {}).get("Keys") or []
            keys = [k for k in request["Keys"] if k not in left]
            returned = body.get("Responses", {}).get(name, [])
            if _narrowed(request):
                items = self._full_items(table, keys, scope)
            else:
                schema = self._side.schema(table, scope)
                found = {_key_text(schema.key_of(i)): i for i in returned}
                items = [found.get(_key_text(k)) for k in keys]
            self.meter.request(table, "BatchGetItem")
            # Each key is a GetItem of its own; a key with no item still costs the minimum.
            self.meter.read(table, batch_get_units(items, consistent=bool(request.get("ConsistentRead"))),
                            len(returned))

    def _read_transact(self, payload: Mapping[str, Any], body: Mapping[str, Any], scope: tuple[str, str]) -> None:
        responses = body.get("Responses") or []
        for n, action in enumerate(payload.get("TransactItems", [])):
            spec = action["Get"]
            table = _table_name(spec["TableName"])
            item = responses[n].get("Item") if n < len(responses) else None
            if _narrowed(spec):
                item = self._full_items(table, [spec["Key"]], scope)[0]
            self.meter.request(table, "TransactGetItems")
            self.meter.read(table, batch_get_units([item], transactional=True), 1 if item else 0)

    def _read_query(self, op: str, payload: Mapping[str, Any], body: Mapping[str, Any],
                    scope: tuple[str, str]) -> None:
        assert self._side is not None
        table = _table_name(payload["TableName"])
        index = payload.get("IndexName")
        items = body.get("Items") or []
        if _narrowed(payload):
            # Billed on the whole items (index entries) read: repeat the same page without narrowing.
            status, full = self._side.call(op, _unnarrowed(payload), scope)
            if status != 200:
                raise RuntimeError(f"repeating {op} on {table} for its cost: {status} {full}")
            items = full.get("Items") or []
        self.meter.request(table, op, index)
        self.meter.read(table, query_units(items, consistent=bool(payload.get("ConsistentRead"))), len(items), index)


def _narrowed(request: Mapping[str, Any]) -> bool:
    """Whether a read returns less than it reads."""
    return any(request.get(p) for p in NARROWING)


def _unnarrowed(request: Mapping[str, Any]) -> dict[str, Any]:
    """``request`` without projection, Select and filters; placeholders only those expressions used are
    dropped (DynamoDB rejects unused ones)."""
    plain = {k: v for k, v in request.items() if k not in NARROWING and k != "ReturnConsumedCapacity"}
    used = set(_PLACEHOLDER.findall(str(plain.get("KeyConditionExpression", ""))))
    for field_name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        kept = {k: v for k, v in (plain.get(field_name) or {}).items() if k in used}
        if kept:
            plain[field_name] = kept
        else:
            plain.pop(field_name, None)
    return plain


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a client's idle keep-alive connection must not hold up shutdown
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, hands it to the recorder, writes back the upstream's response as it was."""

    protocol_version = "HTTP/1.1"  # keep-alive: botocore reuses its connections
    owner: DynamoDBRecorder

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _relay(self) -> None:
        body = self._body()
        try:
            response = self.owner.handle(self.command, self.path, list(self.headers.items()), body)
        except Exception as exc:  # the upstream is gone: say so, as a gateway would
            response = _Response(502, "Bad Gateway", [("Content-Type", "text/plain")], str(exc).encode())
        self.send_response_only(response.status, response.reason)
        for key, value in response.headers:
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _relay

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the bench's output
