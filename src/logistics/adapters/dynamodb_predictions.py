"""The last delivery estimate told about each shipment, in LanesTable (``P#<shipment_id>`` beside the lanes).

One small item per shipment that had a notice: ``revision`` (1, 2, ...), ``prediction`` (what was told) and
``told_at``. Written once per revision, conditionally on the revision growing, so two invocations that
computed the same revision cannot both record it and an older revision never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from logistics.adapters.codec import from_attributes, to_attributes

PREFIX = "P#"


class DynamoDBToldPredictions:
    """:class:`~logistics.service.estimate_notices.ToldPredictions` on LanesTable."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _key(self, merchant_id: str, shipment_id: str) -> dict[str, Any]:
        return to_attributes({"merchant_id": merchant_id, "aggregate": f"{PREFIX}{shipment_id}"})

    def get(self, merchant_id: str, shipment_id: str) -> dict[str, Any] | None:
        """``{"revision", "prediction", "told_at"}`` of the last estimate told, or None (consistent read)."""
        out = self.client.get_item(TableName=self.table, Key=self._key(merchant_id, shipment_id),
                                   ConsistentRead=True)
        return from_attributes(out["Item"]) if "Item" in out else None

    def save(self, merchant_id: str, shipment_id: str, revision: int, prediction: Mapping[str, Any]) -> bool:
        """Record ``revision`` as told unless this or a later revision already is (then False)."""
        item = {"merchant_id": merchant_id, "aggregate": f"{PREFIX}{shipment_id}", "revision": revision,
                "prediction": dict(prediction), "told_at": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            self.client.put_item(TableName=self.table, Item=to_attributes(item),
                                 ConditionExpression="attribute_not_exists(revision) OR revision < :r",
                                 ExpressionAttributeValues=to_attributes({":r": revision}))
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
