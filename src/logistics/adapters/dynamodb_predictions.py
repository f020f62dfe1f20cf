"""The delivery estimates of each shipment, in LanesTable (``P#<shipment_id>`` beside the lanes).

One small item per shipment that was ever predicted:

* ``original`` (with ``original_at``): the first prediction made for the shipment, set once and never changed
  (``if_not_exists``). Usually written by :meth:`DynamoDBToldPredictions.record_original` at the first status
  change that could be predicted; when that first prediction is also told (it is already late), the write
  that records the revision sets it too, so it costs no write of its own.
* ``revision`` (1, 2, ...), ``prediction`` (the last one told) and ``told_at``: written once per revision,
  conditionally on the revision growing, so two invocations that computed the same revision cannot both record
  it and an older revision never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from logistics.adapters.codec import from_attributes, to_attributes

PREFIX = "P#"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _conflict(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoDBToldPredictions:
    """:class:`~logistics.service.estimate_notices.ToldPredictions` on LanesTable."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _key(self, merchant_id: str, shipment_id: str) -> dict[str, Any]:
        return to_attributes({"merchant_id": merchant_id, "aggregate": f"{PREFIX}{shipment_id}"})

    def get(self, merchant_id: str, shipment_id: str, *, consistent: bool = True) -> dict[str, Any] | None:
        """``{"original", "revision", "prediction", "told_at"}`` (those that are set), or None.

        Consistent by default: the notifier decides the next revision from it. The dashboard reads it
        eventually consistent (half the read units; a revision a second old may be missing)."""
        out = self.client.get_item(TableName=self.table, Key=self._key(merchant_id, shipment_id),
                                   ConsistentRead=consistent)
        return from_attributes(out["Item"]) if "Item" in out else None

    def record_original(self, merchant_id: str, shipment_id: str, prediction: Mapping[str, Any]) -> None:
        """Keep ``prediction`` as the shipment's original unless one is kept already (then nothing changes)."""
        self.client.update_item(
            TableName=self.table, Key=self._key(merchant_id, shipment_id),
            UpdateExpression="SET original = if_not_exists(original, :p), original_at = if_not_exists(original_at, :t)",
            ExpressionAttributeValues=to_attributes({":p": dict(prediction), ":t": _now()}))

    def save(self, merchant_id: str, shipment_id: str, revision: int, prediction: Mapping[str, Any]) -> bool:
        """Record ``revision`` as told unless this or a later revision already is (then False); the first
        prediction told becomes the original too when none was kept before."""
        try:
            self.client.update_item(
                TableName=self.table, Key=self._key(merchant_id, shipment_id),
                UpdateExpression="SET revision = :r, prediction = :p, told_at = :t, "
                                 "original = if_not_exists(original, :p), original_at = if_not_exists(original_at, :t)",
                ConditionExpression="attribute_not_exists(revision) OR revision < :r",
                ExpressionAttributeValues=to_attributes({":r": revision, ":p": dict(prediction), ":t": _now()}))
            return True
        except ClientError as error:
            if _conflict(error):
                return False
            raise
