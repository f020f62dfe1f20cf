"""Notification log, its outbox (deliveries waiting for their time) and merchant settings on DynamoDB."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

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
    ``<changed_at>#<status>#<channel>``). A change whose item is ``sent``, waiting in the outbox
    (``deferred``, ``retrying``, ``sending``) or given up (``failed``) is not acted on again: from then on the
    outbox sweep owns it. Otherwise (no item) the action runs and writes the item itself. One consistent read
    and no write of its own: the log item is written once per delivery anyway.

    Why no in-progress record: a shipment's stream records are processed one batch at a time (one
    invocation per shard, records of one key in order even with a parallelization factor), so the same
    change never runs twice at once; a crash between the delivery and the log write re-sends on retry,
    which an in-progress record that expires (Powertools) does as well.
    """

    FINAL = frozenset({"sent", "deferred", "retrying", "sending", "failed"})

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


class DynamoDBOutbox:
    """The Outbox port on the notification log: waiting items carry ``deferred_bucket`` and are found through
    the sparse ``by_due`` index (``deferred_bucket`` / ``due_at``, never a Scan).

    A claim is one conditional UpdateItem on the item (never the index, which is eventually consistent): it
    needs the ``outcome`` and ``due_at`` the sweep read, and moves ``due_at`` to the end of a lease, so of two
    sweeps that read the same item only one claims it, and an item whose claimer died is due again when its
    lease ends. Settling is conditional on the claim's token.
    """

    BUCKET = "deferred"

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def due(self, now_iso: str, limit: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_due",
            "KeyConditionExpression": "deferred_bucket = :b AND due_at <= :now",
            "ExpressionAttributeValues": {":b": {"S": self.BUCKET}, ":now": {"S": now_iso}},
            "Limit": min(limit, 1000),
        }
        while len(items) < limit:
            page = self.client.query(**kwargs)
            items.extend(from_attributes(i) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items[:limit]

    @staticmethod
    def _key(entry: dict[str, Any]) -> dict[str, Any]:
        return {"shipment_key": {"S": entry["shipment_key"]}, "notification_id": {"S": entry["notification_id"]}}

    def claim(self, entry: dict[str, Any], lease_until_iso: str) -> str | None:
        token = uuid.uuid4().hex
        try:
            self.client.update_item(
                TableName=self.table, Key=self._key(entry),
                UpdateExpression="SET #outcome = :sending, #due = :lease, #token = :token",
                ConditionExpression="#bucket = :bucket AND #outcome = :seen_outcome AND #due = :seen_due",
                ExpressionAttributeNames={"#outcome": "outcome", "#due": "due_at", "#token": "claimed_by",
                                          "#bucket": "deferred_bucket"},
                ExpressionAttributeValues={
                    ":sending": {"S": "sending"}, ":lease": {"S": lease_until_iso}, ":token": {"S": token},
                    ":bucket": {"S": self.BUCKET}, ":seen_outcome": {"S": entry["outcome"]},
                    ":seen_due": {"S": entry["due_at"]},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return token

    def settle(self, entry: dict[str, Any], token: str, changes: dict[str, Any], done: bool) -> bool:
        names = {"#token": "claimed_by"}
        values = {":token": {"S": token}}
        sets, removed = [], ["#token"]
        for n, (name, value) in enumerate(changes.items()):
            names[f"#a{n}"] = name
            if value is None:  # None removes the attribute
                removed.append(f"#a{n}")
                continue
            values[f":v{n}"] = to_attributes({"v": value})["v"]
            sets.append(f"#a{n} = :v{n}")
        if done:
            # Leaving the outbox drops the index key and what was kept to send (a given-up delivery's dead
            # letter keeps it); staying keeps both for the next attempt.
            names.update({"#bucket": "deferred_bucket", "#body": "body", "#message": "message"})
            removed += ["#bucket", "#body", "#message"]
        update = (f"SET {', '.join(sets)} " if sets else "") + f"REMOVE {', '.join(removed)}"
        try:
            self.client.update_item(
                TableName=self.table, Key=self._key(entry), UpdateExpression=update,
                ConditionExpression="#token = :token",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
