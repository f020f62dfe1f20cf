"""StateStore on DynamoDB: batch reads, and one conditional write per entity, several in flight."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from logistics.adapters import index_keys
from logistics.adapters.codec import (
    MAX_ITEM_BYTES,
    from_attributes,
    item_size,
    shipment_from_item,
    shipment_item,
    to_attributes,
    warehouse_from_item,
    warehouse_item,
)
from logistics.adapters.retry import with_backoff
from logistics.domain.ports import ShipmentKey, Unstorable, Versioned, WarehouseKey, WriteConflict
from logistics.domain.shipment import ShipmentState
from logistics.domain.warehouse import WarehouseState

WRITE_CONCURRENCY = 8
BATCH_GET_LIMIT = 100


class DynamoDBStateStore:
    """Shipment and warehouse state in their tables (see docs/ARCHITECTURE.md)."""

    def __init__(self, client: Any, shipments_table: str, warehouses_table: str, region: str | None = None):
        self.client = client
        self.shipments_table = shipments_table
        self.warehouses_table = warehouses_table
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        # boto3 clients are thread-safe; the writes are independent requests, so overlap their round trips.
        self._pool = ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY, thread_name_prefix="state-write")

    # -- reads ---------------------------------------------------------------------------------
    def _batch_get(self, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request = {table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}}
            for _ in range(8):
                response = self.client.batch_get_item(RequestItems=request)
                items.extend(response["Responses"].get(table, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                with_backoff.sleep_once()
            else:
                raise RuntimeError(f"BatchGetItem on {table} kept returning unprocessed keys")
        return [from_attributes(i) for i in items]

    def load_shipments(self, keys: Iterable[ShipmentKey]) -> dict[ShipmentKey, Versioned[ShipmentState]]:
        wanted = sorted(set(keys))
        request = [to_attributes({"merchant_id": m, "shipment_id": s}) for m, s in wanted]
        return {
            (i["merchant_id"], i["shipment_id"]): Versioned(
                shipment_from_item(i), int(i.get("version", 0)), {"tracking_token": i.get("tracking_token")}
            )
            for i in self._batch_get(self.shipments_table, request)
        }

    def load_warehouses(self, keys: Iterable[WarehouseKey]) -> dict[WarehouseKey, Versioned[WarehouseState]]:
        wanted = sorted(set(keys))
        request = [to_attributes({"merchant_id": m, "warehouse_id": w}) for m, w in wanted]
        return {
            (i["merchant_id"], i["warehouse_id"]): Versioned(warehouse_from_item(i), int(i.get("version", 0)), {})
            for i in self._batch_get(self.warehouses_table, request)
        }

    # -- writes --------------------------------------------------------------------------------
    def _put(self, state: Any, stored: Versioned[Any] | None) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"  # the width of updated_key's
        if isinstance(state, ShipmentState):
            table, item = self.shipments_table, shipment_item(state)
            token = (stored.extra.get("tracking_token") if stored else None) or secrets.token_urlsafe(18)
            # ingested_key holds the store time (no separate ingested_at: it would be stored twice).
            item.update(tracking_token=token, written_region=self.region,
                        ingested_key=index_keys.ingested_key(now, state.shipment_id))
        else:
            table, item = self.warehouses_table, warehouse_item(state)
            item["ingested_at"] = now
        item["version"] = (stored.version if stored else 0) + 1
        put: dict[str, Any] = {"TableName": table, "Item": to_attributes(item)}
        if stored is None:
            put["ConditionExpression"] = "attribute_not_exists(merchant_id)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(stored.version)}}
        return put

    def _save_one(self, put: dict[str, Any] | Exception) -> Exception | None:
        if isinstance(put, Exception):
            return put
        try:
            self.client.put_item(**put)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                return WriteConflict(f"{put['TableName']}: the stored version moved on")
            if code == "ValidationException":  # e.g. above the 400 KB item size: no retry can help
                return Unstorable(exc.response["Error"].get("Message") or str(exc))
            return exc
        except ValueError as exc:  # text the request cannot encode
            return Unstorable(f"{type(exc).__name__}: {exc}"[:500])
        return None

    def _prepared(self, state: Any, stored: Versioned[Any] | None) -> dict[str, Any] | Exception:
        try:
            put = self._put(state, stored)
        except Exception as exc:  # a value boto3 cannot serialise: this entity only, never the batch
            return Unstorable(f"cannot serialise the item: {type(exc).__name__}: {exc}"[:500])
        size = item_size(put["Item"])
        if size > MAX_ITEM_BYTES:
            return Unstorable(f"the item would be {size} bytes, above DynamoDB's {MAX_ITEM_BYTES}-byte limit")
        return put

    def save(self, writes: Sequence[tuple[Any, Versioned[Any] | None]]) -> dict[int, Exception]:
        """One conditional PutItem per entity, several in flight at once.

        Not TransactWriteItems: the entities are independent (one failing must not hold back the
        others), and emulators copy whole tables per transaction, which grows with the table.
        """
        puts = [self._prepared(state, stored) for state, stored in writes]
        results = list(self._pool.map(self._save_one, puts))
        return {i: error for i, error in enumerate(results) if error is not None}
