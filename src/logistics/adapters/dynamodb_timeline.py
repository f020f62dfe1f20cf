"""Timeline on DynamoDB: entries keyed by entity and occurrence, written idempotently in batches."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from logistics.adapters.codec import event_from_json, event_to_json, from_attributes, to_attributes
from logistics.adapters.retry import with_backoff
from logistics.domain.events import ShipmentEvent, WarehouseEvent
from logistics.domain.folding import Disposition
from logistics.domain.ports import TimelineEntry

BATCH_WRITE_LIMIT = 25
MAX_ROUNDS = 8
# boto3 clients are thread-safe: overlap the round trips of independent batches.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="batch-write")


def entry_item(entry: TimelineEntry) -> dict[str, Any]:
    """The TimelineTable item of an entry: its keys, what it did, and the whole event as JSON.

    The event stays one string attribute rather than a dozen typed ones: timelines are written far
    more often than they are read, and one string is the cheapest thing to store; readers expand it
    with :func:`expand`.
    """
    event = entry.event
    return {
        "entity": entry.entity,
        "at": event.sort_key,
        "event_id": event.event_id,
        "kind": entry.entity.split("#")[1],
        "disposition": entry.disposition.value,
        "source": entry.source,
        "event": event_to_json(event),
    }


def expand(item: dict[str, Any]) -> dict[str, Any]:
    """A timeline item with its event's fields alongside (status, location, exception, items, ...)."""
    event = json.loads(item["event"]) if item.get("event") else {}
    fields = {k: v for k, v in event.items() if v not in (None, [], {}, "")}
    fields["occurred_utc"] = str(item.get("at", "")).split("#")[0]
    return {**fields, **{k: v for k, v in item.items() if k != "event"}}


def _write_chunk(client: Any, table: str, chunk: dict[int, dict[str, Any]]) -> list[int]:
    """One BatchWriteItem of up to 25 items, retrying unprocessed ones; returns positions not written."""
    pending = chunk
    for attempt in range(1, MAX_ROUNDS + 1):
        requests = [{"PutRequest": {"Item": attrs}} for attrs in pending.values()]
        try:
            response = client.batch_write_item(RequestItems={table: requests})
        except Exception:
            return sorted(pending)
        unprocessed = response.get("UnprocessedItems", {}).get(table, [])
        if not unprocessed:
            return []
        left = [u["PutRequest"]["Item"] for u in unprocessed]
        pending = {pos: attrs for pos, attrs in pending.items() if attrs in left}
        with_backoff.sleep_once(attempt)
    return sorted(pending)


def batch_write(client: Any, table: str, items: Sequence[dict[str, Any]]) -> list[int]:
    """Put items with BatchWriteItem (25 a call, several calls in flight); returns positions not written."""
    chunks = [{start + n: to_attributes(item) for n, item in enumerate(items[start : start + BATCH_WRITE_LIMIT])}
              for start in range(0, len(items), BATCH_WRITE_LIMIT)]
    if len(chunks) <= 1:
        return _write_chunk(client, table, chunks[0]) if chunks else []
    failed = _POOL.map(lambda chunk: _write_chunk(client, table, chunk), chunks)
    return sorted(position for positions in failed for position in positions)


class DynamoDBTimeline:
    """The Timeline port on TimelineTable."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def append(self, entries: Sequence[TimelineEntry]) -> list[int]:
        return batch_write(self.client, self.table, [entry_item(e) for e in entries])

    def histories(
        self, entities: Sequence[str]
    ) -> dict[str, list[tuple[ShipmentEvent | WarehouseEvent, Disposition]]]:
        """Each entity's timeline; the Queries run concurrently."""
        return dict(zip(entities, _POOL.map(self.history, entities), strict=True))

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
