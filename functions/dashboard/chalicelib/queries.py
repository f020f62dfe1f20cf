"""Every DynamoDB read of the dashboard: GetItem, or a Query on a key or an index with a Limit.

Never a Scan. Lists read newest first through the ``updated_key`` indexes and stop at the page
size or at a read budget, so their cost depends on the page, not on the size of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.paging import DEAD_LETTERS, WAREHOUSES, Page, Scope
from chalicelib.settings import Settings
from chalicelib.validation import ShipmentFilter
from logistics.adapters.codec import from_attributes
from logistics.adapters.dynamodb_timeline import expand
from logistics.adapters.index_keys import (
    BY_ATTENTION,
    BY_CARRIER,
    BY_GEO,
    BY_INGESTED,
    BY_ORDER,
    BY_STATUS,
    BY_TOKEN,
    BY_TRACKING,
    BY_UPDATED,
    BY_WAREHOUSE,
    INGESTED_KEY,
    UPDATED_KEY,
    Index,
    attention_key,
    scoped,
)
from logistics.domain.status import TERMINAL, Status

# A filtered list stops after reading this many index items (and says so); the next page goes on.
READ_BUDGET = 2000
MAX_CALLS = 8
TIMELINE_MAX = 2000
# Shipments that should still move; EXPIRED is already the verdict "no movement", so it is left out.
MOVING = tuple(s.value for s in Status if s not in TERMINAL and s != Status.EXPIRED)
_INGESTED_SINCE = f"{BY_INGESTED.hash_attr} = :m AND {INGESTED_KEY} > :since"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


@dataclass(frozen=True)
class ShipmentQuery:
    """A shipments list as one DynamoDB Query: index, key condition, filter expression."""

    index: str
    kwargs: dict[str, Any]
    scope: Scope  # what a cursor of this query is bound to, and the key attributes it holds


def shipment_query(settings: Settings, merchant_id: str, flt: ShipmentFilter) -> ShipmentQuery:
    """Pick the most selective index for the filter; every other criterion becomes a filter expression."""
    m = merchant_id
    index: Index
    if flt.needs_attention:
        index, hash_value = BY_ATTENTION, attention_key(m)
    elif flt.status:
        index, hash_value = BY_STATUS, scoped(m, flt.status)
    elif flt.warehouse:
        index, hash_value = BY_WAREHOUSE, scoped(m, flt.warehouse)
    elif flt.carrier:
        index, hash_value = BY_CARRIER, scoped(m, flt.carrier)
    elif flt.geo:
        index, hash_value = BY_GEO, scoped(m, flt.geo)
    else:
        index, hash_value = BY_UPDATED, m
    names = {"#h": index.hash_attr}
    values: dict[str, Any] = {":h": _s(hash_value)}
    condition = "#h = :h"
    if flt.updated_since:
        condition += " AND #u >= :since"
        names["#u"] = UPDATED_KEY
        values[":since"] = _s(flt.updated_since)
    filters: list[str] = []

    def where(attr: str, value: str, placeholder: str) -> None:
        names[f"#{placeholder}"] = attr
        values[f":{placeholder}"] = _s(value)
        filters.append(f"#{placeholder} = :{placeholder}")

    if flt.status and index != BY_STATUS:
        where(BY_STATUS.hash_attr, scoped(m, flt.status), "st")
    if flt.warehouse and index != BY_WAREHOUSE:
        where(BY_WAREHOUSE.hash_attr, scoped(m, flt.warehouse), "wh")
    if flt.carrier and index != BY_CARRIER:
        where(BY_CARRIER.hash_attr, scoped(m, flt.carrier), "ca")
    if flt.geo and index != BY_GEO:
        where(BY_GEO.hash_attr, scoped(m, flt.geo), "geo")
    if flt.country:
        names["#loc"], names["#cty"] = "location", "country"
        values[":cty"] = _s(flt.country)
        filters.append("#loc.#cty = :cty")
    kwargs: dict[str, Any] = {
        "TableName": settings.shipments_table,
        "IndexName": index.name,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }
    if filters:
        kwargs["FilterExpression"] = " AND ".join(filters)
    key_attrs = frozenset({"merchant_id", "shipment_id", index.hash_attr, UPDATED_KEY})
    scope = Scope(f"shipments:{index.name}:{sorted(flt.as_dict().items())}", key_attrs)
    return ShipmentQuery(index.name, kwargs, scope)


class Reader:
    """Read models of the dashboard over the platform's tables (docs/ARCHITECTURE.md)."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    # -- generic ---------------------------------------------------------------------------------
    def page(self, kwargs: dict[str, Any], limit: int, start_key: dict[str, Any] | None,
             key_attrs: frozenset[str], budget: int = READ_BUDGET) -> Page:
        """Up to ``limit`` items from a Query, following DynamoDB pages while a filter thins them out.

        The next key is the last returned item's key when a DynamoDB page had more matches than
        needed, so no item is skipped or repeated between pages.
        """
        items: list[dict[str, Any]] = []
        result = Page(items)
        lek = start_key
        filtered = "FilterExpression" in kwargs
        while True:
            want = limit - len(items)
            # Limit counts items evaluated, before the filter: read ahead when a filter thins them out.
            request = dict(kwargs, Limit=min(max(want * 4, 100), 1000) if filtered else want)
            if lek:
                request["ExclusiveStartKey"] = lek
            response = self.client.query(**request)
            result.calls += 1
            result.read += int(response.get("ScannedCount", 0))
            returned = response.get("Items", [])
            lek = response.get("LastEvaluatedKey")
            if len(returned) > want:
                items.extend(returned[:want])
                result.next_key = {a: items[-1][a] for a in key_attrs}
                break
            items.extend(returned)
            if not lek or len(items) >= limit:
                result.next_key = lek
                break
            if result.read >= budget or result.calls >= MAX_CALLS:
                result.next_key = lek
                result.budget_exhausted = True
                break
        result.items = [from_attributes(i) for i in items]
        return result

    def _all(self, kwargs: dict[str, Any], max_items: int) -> tuple[list[dict[str, Any]], bool]:
        """Every item of a Query up to ``max_items``; the flag says whether it stopped early."""
        items: list[dict[str, Any]] = []
        request = dict(kwargs)
        while True:
            request["Limit"] = min(max_items - len(items), 1000)
            response = self.client.query(**request)
            items.extend(from_attributes(i) for i in response["Items"])
            lek = response.get("LastEvaluatedKey")
            if not lek:
                return items, False
            if len(items) >= max_items:
                return items, True
            request["ExclusiveStartKey"] = lek

    def _get(self, table: str, key: dict[str, str], consistent: bool = False) -> dict[str, Any] | None:
        """One item by its primary key (string attributes), or None."""
        extra = {"ConsistentRead": True} if consistent else {}
        response = self.client.get_item(TableName=table, Key={k: _s(v) for k, v in key.items()}, **extra)
        return from_attributes(response["Item"]) if "Item" in response else None

    # -- shipments -------------------------------------------------------------------------------
    def shipment(self, merchant_id: str, shipment_id: str) -> dict[str, Any] | None:
        return self._get(self.settings.shipments_table, {"merchant_id": merchant_id, "shipment_id": shipment_id})

    def shipments(self, query: ShipmentQuery, limit: int, start_key: dict[str, Any] | None) -> Page:
        return self.page(query.kwargs, limit, start_key, query.scope.key_attrs)

    def _by_unique_index(self, index: Index, value: str) -> list[dict[str, Any]]:
        response = self.client.query(
            TableName=self.settings.shipments_table, IndexName=index.name,
            KeyConditionExpression="#k = :v", ExpressionAttributeNames={"#k": index.hash_attr},
            ExpressionAttributeValues={":v": _s(value)}, Limit=20,
        )
        return [from_attributes(i) for i in response["Items"]]

    def search(self, merchant_id: str, term: str) -> list[dict[str, Any]]:
        """By shipment id (GetItem), tracking number (by_tracking) or order reference (by_order)."""
        found: dict[str, dict[str, Any]] = {}
        direct = self.shipment(merchant_id, term)
        if direct:
            found[direct["shipment_id"]] = direct
        for index in (BY_TRACKING, BY_ORDER):
            for item in self._by_unique_index(index, scoped(merchant_id, term)):
                if item.get("merchant_id") == merchant_id:
                    found.setdefault(item["shipment_id"], item)
        return sorted(found.values(), key=lambda i: i.get(UPDATED_KEY, ""), reverse=True)

    def by_token(self, token: str) -> dict[str, Any] | None:
        items = self._by_unique_index(BY_TOKEN, token)
        return items[0] if len(items) == 1 else None

    def timeline(self, entity: str) -> tuple[list[dict[str, Any]], bool]:
        """One entity's timeline in occurrence order (warehouse and carrier events together),
        each item expanded with its event's fields."""
        items, truncated = self._all({
            "TableName": self.settings.timeline_table,
            "KeyConditionExpression": "entity = :e",
            "ExpressionAttributeValues": {":e": _s(entity)},
        }, TIMELINE_MAX)
        return [expand(item) for item in items], truncated

    def notifications(self, merchant_id: str, shipment_id: str, limit: int = 100) -> list[dict[str, Any]]:
        response = self.client.query(
            TableName=self.settings.notifications_table,
            KeyConditionExpression="shipment_key = :k",
            ExpressionAttributeValues={":k": _s(f"{merchant_id}#{shipment_id}")},
            ScanIndexForward=False, Limit=limit,
        )
        return [from_attributes(i) for i in response["Items"]]

    def attention(self, merchant_id: str, limit: int) -> list[dict[str, Any]]:
        """The sparse by_attention index: only shipments that need attention are in it."""
        return self.page({
            "TableName": self.settings.shipments_table, "IndexName": BY_ATTENTION.name,
            "KeyConditionExpression": f"{BY_ATTENTION.hash_attr} = :m",
            "ExpressionAttributeValues": {":m": _s(attention_key(merchant_id))}, "ScanIndexForward": False,
        }, limit, None, frozenset()).items

    def stale(self, merchant_id: str, before_key: str, limit: int) -> list[dict[str, Any]]:
        """Non-terminal shipments with no movement since ``before_key``: one by_status Query per
        non-terminal status (updated_key < cutoff), so terminal shipments are never read."""
        found: list[dict[str, Any]] = []
        for status in MOVING:
            response = self.client.query(
                TableName=self.settings.shipments_table, IndexName=BY_STATUS.name,
                KeyConditionExpression=f"{BY_STATUS.hash_attr} = :s AND {UPDATED_KEY} < :cut",
                ExpressionAttributeValues={":s": _s(scoped(merchant_id, status)), ":cut": _s(before_key)},
                ScanIndexForward=True, Limit=limit,
            )
            found.extend(from_attributes(i) for i in response["Items"])
        found.sort(key=lambda i: i[UPDATED_KEY])
        return found[:limit]

    def changes(self, merchant_id: str, since: str, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Shipments stored after ``since`` (an ingested_key), oldest first, from by_ingested: a late event
        about an old shipment is a change too, though its updated_key sorts in the past."""
        response = self.client.query(
            TableName=self.settings.shipments_table, IndexName=BY_INGESTED.name,
            KeyConditionExpression=_INGESTED_SINCE,
            ExpressionAttributeValues={":m": _s(merchant_id), ":since": _s(since)},
            ScanIndexForward=True, Limit=limit,
        )
        return [from_attributes(i) for i in response["Items"]], "LastEvaluatedKey" in response

    def count_stored_since(self, merchant_id: str, since: str, cap: int) -> int:
        """How many shipments were stored after ``since`` (an ingested_key), counting at most ``cap``."""
        total, request = 0, {
            "TableName": self.settings.shipments_table, "IndexName": BY_INGESTED.name, "Select": "COUNT",
            "KeyConditionExpression": _INGESTED_SINCE,
            "ExpressionAttributeValues": {":m": _s(merchant_id), ":since": _s(since)},
        }
        while total < cap:
            page = self.client.query(**request, Limit=cap - total)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return total

    def last_stored(self, merchant_id: str) -> str | None:
        """The newest ingested_key of a merchant (where a live page starts polling from)."""
        response = self.client.query(
            TableName=self.settings.shipments_table, IndexName=BY_INGESTED.name,
            KeyConditionExpression=f"{BY_INGESTED.hash_attr} = :m", ExpressionAttributeValues={":m": _s(merchant_id)},
            ScanIndexForward=False, Limit=1,
        )
        return response["Items"][0][INGESTED_KEY]["S"] if response["Items"] else None

    def latest(self, merchant_id: str, limit: int, since: str | None = None) -> list[dict[str, Any]]:
        """The most recently updated shipments (newest first), optionally only those after ``since``."""
        condition = f"{BY_UPDATED.hash_attr} = :m"
        values = {":m": _s(merchant_id)}
        if since:
            condition += f" AND {UPDATED_KEY} > :since"
            values[":since"] = _s(since)
        return self._all({
            "TableName": self.settings.shipments_table, "IndexName": BY_UPDATED.name,
            "KeyConditionExpression": condition, "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }, limit)[0]

    def count(self, index: Index, value: str, cap: int) -> tuple[int, bool]:
        """Items under one index key (Select=COUNT), counting at most ``cap``; the flag says it capped."""
        total = 0
        request: dict[str, Any] = {
            "TableName": self.settings.shipments_table, "IndexName": index.name, "Select": "COUNT",
            "KeyConditionExpression": "#h = :v", "ExpressionAttributeNames": {"#h": index.hash_attr},
            "ExpressionAttributeValues": {":v": _s(value)},
        }
        while True:
            request["Limit"] = cap - total + 1
            response = self.client.query(**request)
            total += int(response["Count"])
            if total > cap:
                return cap, True
            if "LastEvaluatedKey" not in response:
                return total, False
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def count_status(self, merchant_id: str, status: str, cap: int) -> tuple[int, bool]:
        """Shipments in a status (by_status, Select=COUNT)."""
        return self.count(BY_STATUS, scoped(merchant_id, status), cap)

    def count_attention(self, merchant_id: str, cap: int) -> tuple[int, bool]:
        """Shipments that need attention (the sparse by_attention index, Select=COUNT)."""
        return self.count(BY_ATTENTION, attention_key(merchant_id), cap)

    # -- warehouses ------------------------------------------------------------------------------
    def warehouses(self, merchant_id: str, limit: int, start_key: dict[str, Any] | None) -> Page:
        return self.page({
            "TableName": self.settings.warehouses_table,
            "KeyConditionExpression": "merchant_id = :m",
            "ExpressionAttributeValues": {":m": _s(merchant_id)},
        }, limit, start_key, WAREHOUSES.key_attrs)

    def warehouse(self, merchant_id: str, warehouse_id: str) -> dict[str, Any] | None:
        return self._get(self.settings.warehouses_table, {"merchant_id": merchant_id, "warehouse_id": warehouse_id})

    # -- dead letters ----------------------------------------------------------------------------
    def dead_letters(self, merchant_id: str, limit: int, start_key: dict[str, Any] | None) -> Page:
        return self.page({
            "TableName": self.settings.dead_letter_table,
            "KeyConditionExpression": "merchant_id = :m",
            "ExpressionAttributeValues": {":m": _s(merchant_id)},
            "ScanIndexForward": False,
        }, limit, start_key, DEAD_LETTERS.key_attrs)

    def dead_letter(self, merchant_id: str, dlq_key: str) -> dict[str, Any] | None:
        # Consistent: a replay decides on the state it reads here.
        return self._get(self.settings.dead_letter_table, {"merchant_id": merchant_id, "dlq_key": dlq_key},
                         consistent=True)
