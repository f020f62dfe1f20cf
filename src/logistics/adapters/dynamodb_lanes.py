"""LanesTable: merged lane statistics, one item per (merchant, aggregate), and the delivery predictions told.

Key: ``merchant_id`` (HASH), ``aggregate`` (RANGE): ``L#<carrier>|<service>|<origin>><destination>`` for a lane,
``C#<carrier>``, ``D#<destination>``, ``M#all`` for its rollups (a merchant's lanes page is one Query on
``L#``), and ``P#<shipment_id>`` for the last delivery estimate told about a shipment (``dynamodb_predictions``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from logistics.adapters.codec import from_attributes, to_attributes
from logistics.domain.lanes import LaneStats

APPLIED_KEPT = 32  # window tokens remembered per item: a retried final invocation comes soon after the first
_ATTEMPTS = 8  # optimistic-concurrency retries (two shards finishing windows of one lane at once)
_STATS_FIELDS = ("delivered", "on_time", "with_eta", "hist", "days", "resid")


def _conflict(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoDBLaneStore:
    """:class:`~logistics.service.lanes.LaneStore` on LanesTable."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _get(self, merchant_id: str, name: str) -> dict[str, Any] | None:
        out = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                   Key=to_attributes({"merchant_id": merchant_id, "aggregate": name}))
        return from_attributes(out["Item"]) if "Item" in out else None

    def get(self, merchant_id: str, names: Iterable[str]) -> dict[str, LaneStats]:
        """The named aggregates that exist (one BatchGetItem, eventually consistent: predictions can lag)."""
        keys = [to_attributes({"merchant_id": merchant_id, "aggregate": n}) for n in dict.fromkeys(names)]
        found: dict[str, LaneStats] = {}
        request: dict[str, Any] = {self.table: {"Keys": keys}} if keys else {}
        while request:
            out = self.client.batch_get_item(RequestItems=request)
            for raw in out.get("Responses", {}).get(self.table, []):
                item = from_attributes(raw)
                found[item["aggregate"]] = LaneStats.from_item(item)
            request = out.get("UnprocessedKeys") or {}
        return found

    def merge(self, merchant_id: str, name: str, stats: LaneStats, token: str) -> bool:
        """Read, add, write conditionally on the version read; False when ``token`` was applied already."""
        for _ in range(_ATTEMPTS):
            item = self._get(merchant_id, name)
            applied = list((item or {}).get("applied") or [])
            if token in applied:
                return False
            merged = LaneStats.from_item(item).merge(stats) if item else stats
            version = int((item or {}).get("version", 0))
            new = {"merchant_id": merchant_id, "aggregate": name, **merged.to_item(),
                   "applied": [*applied, token][-APPLIED_KEPT:], "version": version + 1,
                   "updated_at": datetime.now(UTC).isoformat(timespec="seconds")}
            condition = ("attribute_not_exists(version)" if item is None else "version = :v")
            values = {} if item is None else {"ExpressionAttributeValues": to_attributes({":v": version})}
            try:
                self.client.put_item(TableName=self.table, Item=to_attributes(new), ConditionExpression=condition,
                                     **values)
                return True
            except ClientError as error:
                if not _conflict(error):
                    raise
        raise RuntimeError(f"lane aggregate {merchant_id}/{name}: too many concurrent writers")

    def list(self, merchant_id: str, prefix: str) -> list[tuple[str, LaneStats]]:
        """Every aggregate of a merchant whose name starts with ``prefix`` (one Query, paged)."""
        out: list[tuple[str, LaneStats]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "merchant_id = :m AND begins_with(#a, :p)",
            "ExpressionAttributeNames": {"#a": "aggregate"},  # a reserved word
            "ExpressionAttributeValues": to_attributes({":m": merchant_id, ":p": prefix}),
        }
        while True:
            page = self.client.query(**kwargs)
            for raw in page.get("Items", []):
                item = from_attributes(raw)
                out.append((item["aggregate"], LaneStats.from_item({k: item.get(k) for k in _STATS_FIELDS})))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
