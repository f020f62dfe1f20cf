"""Warehouse state on DynamoDB: a summary item written conditionally on its version, and, for a warehouse
whose stock outgrew it, one item per SKU (layout and why: ``warehouse_items``, docs/ARCHITECTURE.md).

A write of a large warehouse is a commit then a copy. The summary's conditional put is the commit: it holds
the new state and, in ``pending``, the quantities that write changes. Only then are those quantities put
into their SKU items, each conditional on the item's version being older than the summary's, so a copy
that arrives late can never undo a newer one. Whoever loads the summary next first finishes the copy of
its ``pending`` (its writer may have stopped in between), so at every commit the SKU items hold the stock
of the previous one. Changes too many for one ``pending`` go in several commits; all but the last say
``stock_behind``, which makes the next write re-fold and compare every SKU item should the series stop.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from logistics.adapters import warehouse_items as layout
from logistics.adapters.codec import MAX_ITEM_BYTES, from_attributes, item_size, to_attributes
from logistics.adapters.dynamodb_ops import batch_get, conditional_put
from logistics.domain.ports import Unstorable, Versioned, WarehouseKey, WarehouseWrite, WriteConflict
from logistics.domain.warehouse import Stock, WarehouseState

# SKU items in flight at once: each is its own conditional PutItem (BatchWriteItem takes no condition).
STOCK_WRITE_CONCURRENCY = 16

_NEWER_THAN_ITEM = "attribute_not_exists(version) OR version < :v"

StockPut = tuple[str, str, str, int, int]  # merchant, warehouse, SKU, quantity, summary version


class DynamoDBWarehouses:
    """Warehouse summaries and their SKU items in one table."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table
        self._pool = ThreadPoolExecutor(max_workers=STOCK_WRITE_CONCURRENCY, thread_name_prefix="stock-write")

    # -- reads ---------------------------------------------------------------------------------
    def load(self, keys: Iterable[WarehouseKey]) -> dict[WarehouseKey, Versioned[WarehouseState]]:
        """The summaries of these warehouses, after finishing the copy of what each left pending."""
        wanted = sorted(set(keys))
        summaries = batch_get(self.client, self.table,
                              [to_attributes({"merchant_id": m, "warehouse_id": w}) for m, w in wanted])
        self._finish_pending([s for s in summaries if s.get("pending")])
        loaded: dict[WarehouseKey, Versioned[WarehouseState]] = {}
        for item in summaries:
            inline = layout.inline_stock(item)
            loaded[(item["merchant_id"], item["warehouse_id"])] = Versioned(
                layout.state_from_item(item), int(item.get("version", 0)),
                {} if inline is None else {"stock": inline}, complete=not item.get("stock_behind"))
        return loaded

    def _finish_pending(self, summaries: list[dict[str, Any]]) -> None:
        """Put each pending quantity whose SKU item is still older than its summary (its writer stopped
        before copying it, or is copying it right now: the condition makes the two agree)."""
        keys = [(s["merchant_id"], layout.stock_key(s["warehouse_id"], sku)) for s in summaries for sku in s["pending"]]
        if not keys:
            return
        found = {(i["merchant_id"], i["warehouse_id"]): int(i.get("version", 0)) for i in batch_get(
            self.client, self.table, [to_attributes({"merchant_id": m, "warehouse_id": k}) for m, k in keys])}
        puts = [(s["merchant_id"], s["warehouse_id"], sku, int(qty), int(s["version"]))
                for s in summaries for sku, qty in s["pending"].items()
                if found.get((s["merchant_id"], layout.stock_key(s["warehouse_id"], sku)), 0) < int(s["version"])]
        error = self._copy(puts)
        if error is not None:
            raise error

    def load_stock(self, wanted: Sequence[tuple[Versioned[WarehouseState], Collection[str] | None]]) -> list[Stock]:
        """Per loaded warehouse, the quantities of the given SKUs that have one (None: all of them)."""
        found: list[Stock] = [{} for _ in wanted]
        gets: dict[tuple[str, str], int] = {}  # (merchant, sort key) -> position in ``wanted``
        for position, (stored, skus) in enumerate(wanted):
            state, inline = stored.state, stored.extra.get("stock")
            if inline is not None:
                found[position] = dict(inline) if skus is None else {s: inline[s] for s in skus if s in inline}
            elif skus is None:
                found[position] = self._all_stock(state.merchant_id, state.warehouse_id)
            else:
                gets.update(((state.merchant_id, layout.stock_key(state.warehouse_id, sku)), position) for sku in skus)
        if gets:
            keys = [to_attributes({"merchant_id": m, "warehouse_id": k}) for m, k in gets]
            for item in batch_get(self.client, self.table, keys):
                _, sku = layout.parse_key(item["warehouse_id"])
                position = gets[(item["merchant_id"], item["warehouse_id"])]
                found[position][sku or ""] = int(item["qty"])
        return found

    def _all_stock(self, merchant_id: str, warehouse_id: str) -> Stock:
        """Every SKU item of the warehouse (consistent Query, paged)."""
        request: dict[str, Any] = {
            "TableName": self.table, "ConsistentRead": True,
            "KeyConditionExpression": "merchant_id = :m AND begins_with(warehouse_id, :p)",
            "ExpressionAttributeValues": {":m": {"S": merchant_id}, ":p": {"S": layout.stock_prefix(warehouse_id)}},
        }
        stock: Stock = {}
        while True:
            response = self.client.query(**request)
            for raw in response.get("Items", []):
                item = from_attributes(raw)
                _, sku = layout.parse_key(item["warehouse_id"])
                stock[sku or ""] = int(item["qty"])
            if "LastEvaluatedKey" not in response:
                return stock
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # -- writes --------------------------------------------------------------------------------
    def save(self, write: WarehouseWrite, stored: Versioned[WarehouseState] | None) -> Exception | None:
        """Store a warehouse's new state and changed stock; None when done, else the error (``WriteConflict``
        when the summary moved on since ``stored`` was read)."""
        state = write.state
        version = stored.version if stored is not None else None
        inline = {} if stored is None else stored.extra.get("stock")
        changes: Stock = write.stock
        if inline is not None:
            whole = {**inline, **changes}
            if layout.map_bytes(whole) <= layout.INLINE_STOCK_BYTES:
                return self._commit(state, version, stock=whole)
            changes = whole  # outgrown: the whole stock moves to SKU items, for good
        parts = layout.chunks(changes, layout.PENDING_BYTES)
        for n, part in enumerate(parts):
            error = self._commit(state, version, pending=part, behind=n + 1 < len(parts))
            if error is not None:
                return error
            version = (version or 0) + 1
            m, w = state.merchant_id, state.warehouse_id
            error = self._copy([(m, w, sku, qty, version) for sku, qty in part.items()])
            if error is not None:
                return error  # the next load finishes the copy
        return None

    def _commit(self, state: WarehouseState, version: int | None, **stock: Any) -> Exception | None:
        """The summary's conditional put (on ``version``; None: it must not exist yet)."""
        item = layout.summary_item(state, **stock)
        item["version"] = (version or 0) + 1
        item["ingested_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        try:
            put: dict[str, Any] = {"TableName": self.table, "Item": to_attributes(item)}
        except Exception as exc:  # a value boto3 cannot serialise: this warehouse only, never the batch
            return Unstorable(f"cannot serialise the item: {type(exc).__name__}: {exc}"[:500])
        size = item_size(put["Item"])
        if size > MAX_ITEM_BYTES:
            return Unstorable(f"the item would be {size} bytes, above DynamoDB's {MAX_ITEM_BYTES}-byte limit")
        if version is None:
            put["ConditionExpression"] = "attribute_not_exists(merchant_id)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        return conditional_put(self.client, put)

    def _copy(self, puts: list[StockPut]) -> Exception | None:
        """Put SKU quantities, each only over an item older than its summary version; the first error that
        a retry may cure, else None (an item already as new or newer is not an error)."""
        errors = [e for e in self._pool.map(self._put_stock, puts) if e is not None]
        return errors[0] if errors else None

    def _put_stock(self, put: StockPut) -> Exception | None:
        merchant_id, warehouse_id, sku, qty, version = put
        error = conditional_put(self.client, {
            "TableName": self.table,
            "Item": to_attributes(layout.stock_item(merchant_id, warehouse_id, sku, qty, version)),
            "ConditionExpression": _NEWER_THAN_ITEM,
            "ExpressionAttributeValues": {":v": {"N": str(version)}},
        })
        return None if isinstance(error, WriteConflict) else error
