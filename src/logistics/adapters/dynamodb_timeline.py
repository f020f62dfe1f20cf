"""Timeline on DynamoDB: entries keyed by entity and occurrence, written idempotently in batches."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from logistics.adapters.codec import event_from_json, event_to_json, from_attributes, to_attributes
from logistics.adapters.retry import with_backoff
from logistics.domain.events import ShipmentEvent, WarehouseEvent
from logistics.domain.folding import Disposition
from logistics.domain.ports import TimelineEntry, Unstorable

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


def _put_alone(client: Any, table: str, attrs: dict[str, Any]) -> Exception | None:
    """One item on its own (PutItem, botocore retries throttling); ``Unstorable`` if DynamoDB refuses it."""
    try:
        client.put_item(TableName=table, Item=attrs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ValidationException":
            return Unstorable(exc.response["Error"].get("Message") or str(exc))
        return exc
    except Exception as exc:  # the request could not even be sent (e.g. text the wire cannot encode)
        return Unstorable(f"{type(exc).__name__}: {exc}") if isinstance(exc, ValueError) else exc
    return None


def _write_chunk(client: Any, table: str, chunk: dict[int, dict[str, Any]]) -> dict[int, Exception]:
    """One BatchWriteItem of up to 25 items, retrying unprocessed ones; returns the errors of those not written.

    BatchWriteItem refuses the whole request when one item is invalid (ValidationException: too large, a
    value DynamoDB cannot hold, or two items with the same key): then each item is written on its own,
    so one bad item never sinks the rest.
    """
    pending = chunk
    for attempt in range(1, MAX_ROUNDS + 1):
        requests = [{"PutRequest": {"Item": attrs}} for attrs in pending.values()]
        try:
            response = client.batch_write_item(RequestItems={table: requests})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ValidationException":
                return dict.fromkeys(pending, exc)
            return _one_by_one(client, table, pending)
        except Exception:
            return _one_by_one(client, table, pending)
        unprocessed = response.get("UnprocessedItems", {}).get(table, [])
        if not unprocessed:
            return {}
        left = [u["PutRequest"]["Item"] for u in unprocessed]
        pending = {pos: attrs for pos, attrs in pending.items() if attrs in left}
        with_backoff.sleep_once(attempt)
    return dict.fromkeys(pending, RuntimeError(f"BatchWriteItem on {table} kept returning unprocessed items"))


def _one_by_one(client: Any, table: str, pending: dict[int, dict[str, Any]]) -> dict[int, Exception]:
    errors = {pos: _put_alone(client, table, attrs) for pos, attrs in pending.items()}
    return {pos: error for pos, error in errors.items() if error is not None}


def _attributes(item: dict[str, Any]) -> dict[str, Any] | Exception:
    try:
        return to_attributes(item)
    except Exception as exc:  # a value boto3 cannot serialise (NaN, a float, too many digits...)
        return Unstorable(f"cannot serialise the item: {type(exc).__name__}: {exc}"[:500])


def batch_write(client: Any, table: str, items: Sequence[dict[str, Any]]) -> dict[int, Exception]:
    """Put items with BatchWriteItem (25 a call, several calls in flight); returns errors of those not written.

    Items that share a key within one request would make DynamoDB refuse the request: the last one wins
    (the items here are idempotent rewrites of the same thing).
    """
    errors: dict[int, Exception] = {}
    latest: dict[str, int] = {}
    encoded: dict[int, dict[str, Any]] = {}
    for position, item in enumerate(items):
        attrs = _attributes(item)
        if isinstance(attrs, Exception):
            errors[position] = attrs
            continue
        encoded[position] = attrs
        latest[json.dumps(_key_of(attrs), sort_keys=True)] = position
    kept = sorted(latest.values())
    chunks = [{pos: encoded[pos] for pos in kept[start : start + BATCH_WRITE_LIMIT]}
              for start in range(0, len(kept), BATCH_WRITE_LIMIT)]
    if len(chunks) == 1:
        errors.update(_write_chunk(client, table, chunks[0]))
    elif chunks:
        for failed in _POOL.map(lambda chunk: _write_chunk(client, table, chunk), chunks):
            errors.update(failed)
    # A duplicate shares the fate of the copy that was written.
    for position, attrs in encoded.items():
        winner = latest[json.dumps(_key_of(attrs), sort_keys=True)]
        if winner != position and winner in errors:
            errors[position] = errors[winner]
    return dict(sorted(errors.items()))


_KEYS = ("entity", "at", "merchant_id", "dlq_key")  # the key attributes of the tables written in batches


def _key_of(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: attrs[k] for k in _KEYS if k in attrs}


class DynamoDBTimeline:
    """The Timeline port on TimelineTable."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def append(self, entries: Sequence[TimelineEntry]) -> dict[int, Exception]:
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
