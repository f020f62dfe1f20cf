"""Notification log and merchant settings on DynamoDB."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from logistics.adapters.codec import from_attributes, to_attributes


class DynamoDBNotificationLog:
    """One item per (change, channel): a retry overwrites the outcome of the same notification."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def record(self, entry: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table, Item=to_attributes(entry))


class LoggedOnce:
    """OnceGuard on the notification log itself: the (change, channel) log item is the completion record.

    The guard key is the log item's key, ``<shipment_key>#<notification_id>`` (``notification_id`` is
    ``<changed_at>#<status>#<channel>``). A change whose item already says ``sent`` or ``deferred`` is not
    acted on again; otherwise the action runs and writes the item itself (sent, deferred or failed). One
    consistent read and no write of its own: the log item is written once per delivery anyway.

    Why no in-progress record: a shipment's stream records are processed one batch at a time (one
    invocation per shard, records of one key in order even with a parallelization factor), so the same
    change never runs twice at once; a crash between the delivery and the log write re-sends on retry,
    which an in-progress record that expires (Powertools) does as well.
    """

    FINAL = frozenset({"sent", "deferred"})

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    @staticmethod
    def split(key: str) -> tuple[str, str]:
        shipment_key, changed_at, status, channel = key.rsplit("#", 3)
        return shipment_key, f"{changed_at}#{status}#{channel}"

    def register_lambda_context(self, context: Any) -> None:
        """Nothing to expire: there is no in-progress record (kept for the handler's interface)."""

    def run_once(self, key: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        shipment_key, notification_id = self.split(key)
        response = self.client.get_item(
            TableName=self.table, ConsistentRead=True,
            Key={"shipment_key": {"S": shipment_key}, "notification_id": {"S": notification_id}},
            ProjectionExpression="outcome, target, message_id, due_at",
        )
        done = from_attributes(response["Item"]) if "Item" in response else None
        if done and done.get("outcome") in self.FINAL:
            detail = done.get("target") or done.get("message_id") or done.get("due_at") or ""
            return {"outcome": done["outcome"], "detail": detail}
        return action()


class DynamoDBMerchants:
    """Merchant settings, cached briefly: they change rarely and every record would read them."""

    def __init__(self, client: Any, table: str, ttl_s: float = 30.0) -> None:
        self.client = client
        self.table = table
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def get(self, merchant_id: str) -> dict[str, Any] | None:
        cached = self._cache.get(merchant_id)
        if cached and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        response = self.client.get_item(TableName=self.table, Key={"merchant_id": {"S": merchant_id}})
        item = from_attributes(response["Item"]) if "Item" in response else None
        self._cache[merchant_id] = (time.monotonic(), item)
        return item

    def put(self, merchant: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table, Item=to_attributes(merchant))
        self._cache.pop(merchant["merchant_id"], None)


class DynamoDBDeferredQueue:
    """Deferred customer messages, found through the sparse ``by_due`` index (never a Scan)."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def due(self, now_iso: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_due",
            "KeyConditionExpression": "deferred_bucket = :b AND due_at <= :now",
            "ExpressionAttributeValues": {":b": {"S": "deferred"}, ":now": {"S": now_iso}},
        }
        while True:
            page = self.client.query(**kwargs)
            items.extend(from_attributes(i) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_sent(self, entry: dict[str, Any], message_id: str, sent_at: str) -> None:
        # Removing deferred_bucket takes the item out of the sparse index.
        self.client.update_item(
            TableName=self.table,
            Key={"shipment_key": {"S": entry["shipment_key"]}, "notification_id": {"S": entry["notification_id"]}},
            UpdateExpression="SET outcome = :sent, message_id = :id, sent_at = :at REMOVE deferred_bucket",
            ExpressionAttributeValues={":sent": {"S": "sent"}, ":id": {"S": message_id}, ":at": {"S": sent_at}},
        )
