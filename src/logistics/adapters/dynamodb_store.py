"""StateStore on DynamoDB: batch reads, and one conditional write per entity, several in flight.

Shipments are one item each; warehouses are a summary and, when large, SKU items (``dynamodb_warehouses``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from logistics.adapters import index_keys
from logistics.adapters.codec import (
    MAX_ITEM_BYTES,
    item_size,
    shipment_from_item,
    shipment_item,
    to_attributes,
)
from logistics.adapters.dynamodb_ops import batch_get, conditional_put
from logistics.adapters.dynamodb_warehouses import DynamoDBWarehouses
from logistics.domain.ports import ShipmentKey, Unstorable, Versioned, WarehouseKey, WarehouseWrite
from logistics.domain.shipment import ShipmentState
from logistics.domain.warehouse import Stock, WarehouseState

WRITE_CONCURRENCY = 8


class DynamoDBStateStore:
    """Shipment and warehouse state in their tables (see docs/ARCHITECTURE.md)."""

    def __init__(self, client: Any, shipments_table: str, warehouses_table: str, region: str | None = None):
        self.client = client
        self.shipments_table = shipments_table
        self.warehouses_table = warehouses_table
        self.warehouses = DynamoDBWarehouses(client, warehouses_table)
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        # boto3 clients are thread-safe; the writes are independent requests, so overlap their round trips.
        self._pool = ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY, thread_name_prefix="state-write")

    # -- reads ---------------------------------------------------------------------------------
    def load_shipments(self, keys: Iterable[ShipmentKey]) -> dict[ShipmentKey, Versioned[ShipmentState]]:
        wanted = sorted(set(keys))
        request = [to_attributes({"merchant_id": m, "shipment_id": s}) for m, s in wanted]
        return {
            (i["merchant_id"], i["shipment_id"]): Versioned(
                shipment_from_item(i), int(i.get("version", 0)), {"tracking_token": i.get("tracking_token")}
            )
            for i in batch_get(self.client, self.shipments_table, request)
        }

    def load_warehouses(self, keys: Iterable[WarehouseKey]) -> dict[WarehouseKey, Versioned[WarehouseState]]:
        return self.warehouses.load(keys)

    def load_stock(self, wanted: Sequence[tuple[Versioned[WarehouseState], Collection[str] | None]]) -> list[Stock]:
        return self.warehouses.load_stock(wanted)

    # -- writes --------------------------------------------------------------------------------
    def _put(self, state: ShipmentState, stored: Versioned[Any] | None) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"  # the width of updated_key's
        item = shipment_item(state)
        token = (stored.extra.get("tracking_token") if stored else None) or secrets.token_urlsafe(18)
        # ingested_key holds the store time (no separate ingested_at: it would be stored twice).
        item.update(tracking_token=token, written_region=self.region,
                    ingested_key=index_keys.ingested_key(now, state.shipment_id))
        item["version"] = (stored.version if stored else 0) + 1
        put: dict[str, Any] = {"TableName": self.shipments_table, "Item": to_attributes(item)}
        if stored is None:
            put["ConditionExpression"] = "attribute_not_exists(merchant_id)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(stored.version)}}
        return put

    def _prepared(self, state: ShipmentState, stored: Versioned[Any] | None) -> dict[str, Any] | Exception:
        try:
            put = self._put(state, stored)
        except Exception as exc:  # a value boto3 cannot serialise: this entity only, never the batch
            return Unstorable(f"cannot serialise the item: {type(exc).__name__}: {exc}"[:500])
        size = item_size(put["Item"])
        if size > MAX_ITEM_BYTES:
            return Unstorable(f"the item would be {size} bytes, above DynamoDB's {MAX_ITEM_BYTES}-byte limit")
        return put

    def _save_one(self, write: tuple[ShipmentState | WarehouseWrite, Versioned[Any] | None]) -> Exception | None:
        state, stored = write
        if isinstance(state, WarehouseWrite):
            return self.warehouses.save(state, stored)
        put = self._prepared(state, stored)
        return put if isinstance(put, Exception) else conditional_put(self.client, put)

    def save(
        self, writes: Sequence[tuple[ShipmentState | WarehouseWrite, Versioned[Any] | None]]
    ) -> dict[int, Exception]:
        """One conditional PutItem per entity (plus a large warehouse's SKU items), several in flight at once.

        Not TransactWriteItems: the entities are independent (one failing must not hold back the
        others), and emulators copy whole tables per transaction, which grows with the table.
        """
        results = list(self._pool.map(self._save_one, writes))
        return {i: error for i, error in enumerate(results) if error is not None}
