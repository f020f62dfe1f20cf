"""What the scheduled estimate check reads and remembers (``service.estimate_check``).

* Open shipments by when their status began: ``by_status`` (``<merchant>#<status>`` / ``status_key``), a
  KEYS_ONLY index, then the items in one BatchGetItem (eventually consistent, as every index read). An entry
  whose item has moved on since (another status, or the status began again) is left out: the notifier
  checked it at that change.
* Merchants: a Scan of MerchantsTable projecting only ``merchant_id`` (a small table of settings; once a run).
* The walk's cursors: one item per merchant in LanesTable, ``K#estimate-check``, mapping each status to the
  last ``status_key`` checked.
"""

from __future__ import annotations

from typing import Any

from logistics.adapters.codec import from_attributes, to_attributes
from logistics.adapters.index_keys import BY_STATUS, STATUS_KEY, scoped
from logistics.service.estimate_check import StalledPage

CURSOR_AGGREGATE = "K#estimate-check"
_BATCH_GET_MAX = 100


class DynamoDBOpenShipments:
    """:class:`~logistics.service.estimate_check.OpenShipments` on ShipmentsTable and MerchantsTable."""

    def __init__(self, client: Any, shipments_table: str, merchants_table: str) -> None:
        self.client = client
        self.shipments_table = shipments_table
        self.merchants_table = merchants_table

    def merchant_ids(self) -> list[str]:
        """Every merchant id (a Scan of the merchants' settings, only their keys)."""
        found: list[str] = []
        kwargs: dict[str, Any] = {"TableName": self.merchants_table, "ProjectionExpression": "merchant_id"}
        while True:
            out = self.client.scan(**kwargs)
            found += [i["merchant_id"]["S"] for i in out.get("Items", [])]
            if "LastEvaluatedKey" not in out:
                return sorted(found)
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def stalled(self, merchant_id: str, status: str, since: str, until: str, after: str | None,
                limit: int) -> StalledPage:
        """Up to ``limit`` entries of ``by_status`` in [since, until] after ``after``, and their items."""
        partition = scoped(merchant_id, status)
        kwargs: dict[str, Any] = {
            "TableName": self.shipments_table, "IndexName": BY_STATUS.name, "Limit": limit,
            "KeyConditionExpression": f"{BY_STATUS.hash_attr} = :p AND {STATUS_KEY} BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_attributes({":p": partition, ":lo": since, ":hi": until}),
            "ScanIndexForward": True,
        }
        if after is not None:  # status_key is "<when>#<shipment id>" and the time holds no "#"
            kwargs["ExclusiveStartKey"] = to_attributes({
                "merchant_id": merchant_id, "shipment_id": after.split("#", 1)[1],
                BY_STATUS.hash_attr: partition, STATUS_KEY: after})
        out = self.client.query(**kwargs)
        entries = [from_attributes(e) for e in out.get("Items", [])]
        items = self._items([e["shipment_id"] for e in entries], merchant_id)
        current = [items[e["shipment_id"]] for e in entries
                   if e["shipment_id"] in items and items[e["shipment_id"]].get(STATUS_KEY) == e[STATUS_KEY]
                   and items[e["shipment_id"]].get(BY_STATUS.hash_attr) == partition]
        return StalledPage(current, entries[-1][STATUS_KEY] if entries else None, "LastEvaluatedKey" not in out)

    def _items(self, shipment_ids: list[str], merchant_id: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(shipment_ids), _BATCH_GET_MAX):
            keys = [to_attributes({"merchant_id": merchant_id, "shipment_id": s})
                    for s in shipment_ids[start:start + _BATCH_GET_MAX]]
            request: dict[str, Any] = {self.shipments_table: {"Keys": keys}}
            while request:
                out = self.client.batch_get_item(RequestItems=request)
                for raw in out.get("Responses", {}).get(self.shipments_table, []):
                    item = from_attributes(raw)
                    found[item["shipment_id"]] = item
                request = out.get("UnprocessedKeys") or {}
        return found


class DynamoDBCheckCursors:
    """:class:`~logistics.service.estimate_check.CheckCursors`: one item per merchant in LanesTable."""

    def __init__(self, client: Any, lanes_table: str) -> None:
        self.client = client
        self.table = lanes_table

    def _key(self, merchant_id: str) -> dict[str, Any]:
        return to_attributes({"merchant_id": merchant_id, "aggregate": CURSOR_AGGREGATE})

    def get(self, merchant_id: str) -> dict[str, str]:
        out = self.client.get_item(TableName=self.table, Key=self._key(merchant_id))
        return dict(from_attributes(out["Item"]).get("cursors") or {}) if "Item" in out else {}

    def put(self, merchant_id: str, cursors: dict[str, str]) -> None:
        self.client.put_item(TableName=self.table, Item=to_attributes(
            {"merchant_id": merchant_id, "aggregate": CURSOR_AGGREGATE, "cursors": dict(cursors)}))
