"""Timeline on DynamoDB: entries keyed by entity and occurrence, written idempotently in batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from logistics.adapters.codec import event_from_json, event_to_json, from_attributes, to_attributes
from logistics.adapters.retry import with_backoff
from logistics.domain.events import ShipmentEvent, WarehouseEvent
from logistics.domain.folding import Disposition
from logistics.domain.ports import TimelineEntry

BATCH_WRITE_LIMIT = 25
MAX_ROUNDS = 8


def entry_item(entry: TimelineEntry) -> dict[str, Any]:
    """The TimelineTable item of an entry: searchable fields plus the whole event for re-folds."""
    event = entry.event
    kind = entry.entity.split("#")[1]
    item: dict[str, Any] = {
        "entity": entry.entity,
        "at": event.sort_key,
        "event_id": event.event_id,
        "kind": kind,
        "event_type": event.event_type,
        "occurred_at": event.occurred_at,
        "occurred_utc": event.occurred_utc,
        "location": event.location,
        "disposition": entry.disposition.value,
        "source": entry.source,
        "event": event_to_json(event),
    }
    if isinstance(event, ShipmentEvent):
        item.update(status=event.status.value, sub_status=event.sub_status, exception=event.exception,
                    correction_of=event.correction_of, warehouse_id=event.warehouse_id)
    else:
        item.update(warehouse_id=event.warehouse_id, shipment_id=event.shipment_id, zone=event.zone,
                    items=[{"sku": i.sku, "qty": i.qty} for i in event.items])
    return item


def batch_write(client: Any, table: str, items: Sequence[dict[str, Any]]) -> list[int]:
    """Put items with BatchWriteItem (25 a call), retrying unprocessed ones; returns positions not written."""
    failed: list[int] = []
    for start in range(0, len(items), BATCH_WRITE_LIMIT):
        chunk = {start + n: to_attributes(item) for n, item in enumerate(items[start : start + BATCH_WRITE_LIMIT])}
        pending = dict(chunk)
        for attempt in range(1, MAX_ROUNDS + 1):
            requests = [{"PutRequest": {"Item": attrs}} for attrs in pending.values()]
            try:
                response = client.batch_write_item(RequestItems={table: requests})
            except Exception:
                break
            unprocessed = response.get("UnprocessedItems", {}).get(table, [])
            if not unprocessed:
                pending = {}
                break
            left = [u["PutRequest"]["Item"] for u in unprocessed]
            pending = {pos: attrs for pos, attrs in pending.items() if attrs in left}
            with_backoff.sleep_once(attempt)
        failed.extend(pending)
    return sorted(failed)


class DynamoDBTimeline:
    """The Timeline port on TimelineTable."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def append(self, entries: Sequence[TimelineEntry]) -> list[int]:
        return batch_write(self.client, self.table, [entry_item(e) for e in entries])

    def history(self, entity: str) -> list[tuple[ShipmentEvent | WarehouseEvent, Disposition]]:
        kind = entity.split("#")[1]
        result: list[tuple[ShipmentEvent | WarehouseEvent, Disposition]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "entity = :e",
            "ExpressionAttributeValues": {":e": {"S": entity}},
            "ProjectionExpression": "event, disposition",
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**kwargs)
            for raw in page["Items"]:
                item = from_attributes(raw)
                result.append((event_from_json(kind, item["event"]), Disposition(item["disposition"])))
            if "LastEvaluatedKey" not in page:
                return result
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
