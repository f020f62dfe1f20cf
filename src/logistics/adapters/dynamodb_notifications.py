"""Notification log and merchant settings on DynamoDB."""

from __future__ import annotations

import time
from typing import Any

from logistics.adapters.codec import from_attributes, to_attributes


class DynamoDBNotificationLog:
    """One item per (change, channel): a retry overwrites the outcome of the same notification."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def record(self, entry: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table, Item=to_attributes(entry))


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
