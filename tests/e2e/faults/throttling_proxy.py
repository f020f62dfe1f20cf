"""A fault-injecting HTTP proxy in front of a DynamoDB endpoint: a share of write requests is answered as
DynamoDB answers when a table is over its capacity, without reaching the upstream.

Everything else is forwarded unchanged (method, path, headers - ``Host`` included, so the SigV4 signature
still matches - and body), as ``bench/cost/recorder.py`` does; the throttled answer is DynamoDB's own::

    HTTP/1.1 400 Bad Request
    Content-Type: application/x-amz-json-1.0
    {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "message": "..."}

(or ``ThrottlingException``), which botocore retries with backoff like any throttle. Decisions come from a
seeded generator, so a run throttles the same sequence of requests.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

TARGET_PREFIX = "DynamoDB_20120810."
WRITE_OPS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                        "transfer-encoding", "upgrade", "content-length"})
THROTTLES = (
    ("com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
     "The level of configured provisioned throughput for the table was exceeded. Consider increasing your "
     "provisioning level with the UpdateTable API."),
    ("com.amazonaws.dynamodb.v20120810#ThrottlingException", "Rate of requests exceeds the allowed throughput."),
)


class ThrottlingProxy:
    """``share`` of the write operations (0..1) get a throttling error; :attr:`throttled` counts them by
    operation, :attr:`forwarded` counts what reached the upstream. ``share`` may change while running."""

    def __init__(self, upstream: str, *, share: float = 0.0, seed: int = 0, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not an http endpoint: {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self.share = share
        self.throttled: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()
        self._upstream_address = (parts.hostname, parts.port or 80)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> ThrottlingProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = _Server((self._host, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="throttling-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> ThrottlingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one request -------------------------------------------------------------------------------
    def decide(self, op: str) -> tuple[str, str] | None:
        """The throttling error to answer ``op`` with, or None to forward it."""
        if op not in WRITE_OPS:
            return None
        with self._lock:
            if self._random.random() >= self.share:
                return None
            self.throttled[op] += 1
            return THROTTLES[self._random.randrange(len(THROTTLES))]

    def forward(self, method: str, path: str, body: bytes,
                headers: Sequence[tuple[str, str]]) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Send one request upstream on this thread's keep-alive connection (reconnecting once)."""
        for attempt in (0, 1):
            conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
            if conn is None or attempt:
                if conn is not None:
                    conn.close()
                conn = http.client.HTTPConnection(*self._upstream_address, timeout=120)
                self._local.conn = conn
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
                self._local.conn = None
                if attempt:
                    raise
                continue
            if response.will_close:
                conn.close()
                self._local.conn = None
            return response.status, response.reason, list(response.getheaders()), data
        raise AssertionError("unreachable")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore expects
    owner: ThrottlingProxy

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        op = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else ""
        throttle = self.owner.decide(op)
        if throttle is not None:
            kind, message = throttle
            payload = json.dumps({"__type": kind, "message": message}).encode()
            self._answer(400, "Bad Request", [("Content-Type", "application/x-amz-json-1.0"),
                                              ("x-amzn-RequestId", uuid.uuid4().hex)], payload)
            return
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        try:
            status, reason, response_headers, data = self.owner.forward(self.command, self.path, body, headers)
        except Exception as exc:  # the upstream is gone: say so, as a gateway would
            self._answer(502, "Bad Gateway", [("Content-Type", "text/plain")], str(exc).encode())
            return
        if op:
            with self.owner._lock:
                self.owner.forwarded[op] += 1
        self._answer(status, reason, response_headers, data)

    def _answer(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response_only(status, reason)
        for key, value in headers:
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _relay

    def log_message(self, format: str, *args: Any) -> None:
        pass
