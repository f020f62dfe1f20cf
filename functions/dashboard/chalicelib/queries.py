"""Every DynamoDB read of the dashboard: GetItem, or a Query on a key or an index with a Limit.

Never a Scan. ShipmentsTable's indexes project KEYS_ONLY (docs/ARCHITECTURE.md): a list reads a page
of keys from the most selective index (newest first, with a Limit), then the page's items with one
BatchGetItem, in the index's order; every other criterion is checked on the fetched items. Lists stop
at the page size or at a read budget, so their cost depends on the page, not on the size of the table.

Every list is keyed by the caller's merchant *and* filtered by it: an item whose ``merchant_id`` is not
the caller's is dropped after it is read, whatever key it was found under (``<merchant>#<value>`` index
keys of two merchants can collide when ids contain '#': ``m`` + ``x#DHL`` and ``m#x`` + ``DHL``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import warehouse_reads
from chalicelib.paging import DEAD_LETTERS, Page, Scope
from chalicelib.settings import Settings
from chalicelib.validation import ShipmentFilter
from logistics.adapters.codec import from_attributes, with_derived
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
    BY_WAREHOUSE,
    INGESTED_KEY,
    STATUS_KEY,
    Index,
    attention_key,
    scoped,
)
from logistics.adapters.retry import with_backoff
from logistics.domain.status import TERMINAL, Status

# A filtered list stops after reading this many index items (and says so); the next page goes on.
READ_BUDGET = 2000
MAX_CALLS = 8
TIMELINE_MAX = 2000
BATCH_GET_LIMIT = 100
# Shipments that should still move; EXPIRED is already the verdict "no movement", so it is left out.
MOVING = tuple(s.value for s in Status if s not in TERMINAL and s != Status.EXPIRED)
_INGESTED_SINCE = f"{BY_INGESTED.hash_attr} = :m AND {INGESTED_KEY} > :since"

Item = dict[str, Any]


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _everything(_item: Item) -> bool:
    return True


def owned_by(merchant_id: str) -> Callable[[Item], bool]:
    """Whether an item belongs to ``merchant_id`` (its own ``merchant_id`` attribute)."""
    return lambda item: item.get("merchant_id") == merchant_id


@dataclass(frozen=True)
class ShipmentQuery:
    """A shipments list: one Query on an index (its keys), and the criteria the fetched items must meet.
    Whatever ``keep`` says, an item of another merchant than ``merchant_id`` is never kept."""

    merchant_id: str
    index: str
    kwargs: dict[str, Any]
    scope: Scope  # what a cursor of this query is bound to, and the key attributes it holds
    keep: Callable[[Item], bool] = _everything
    filtered: bool = False  # whether ``keep`` narrows the list beyond the index key (read ahead then)


def shipment_query(settings: Settings, merchant_id: str, flt: ShipmentFilter) -> ShipmentQuery:
    """Pick the most selective index for the filter; every other criterion is checked on the fetched items.

    The order is the index's: needs attention by when the attention status began, status by when the
    status began, warehouse / carrier / region by when the shipment started (its first event), and the
    unfiltered list by when each shipment was last stored (``by_ingested``), all newest first.
    """
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
        index, hash_value = BY_INGESTED, m
    # The item must still be under the key it was found by (it may have moved since the index was read).
    wanted: dict[str, str] = {index.hash_attr: hash_value}
    if flt.status:
        wanted[BY_STATUS.hash_attr] = scoped(m, flt.status)
    if flt.warehouse:
        wanted[BY_WAREHOUSE.hash_attr] = scoped(m, flt.warehouse)
    if flt.carrier:
        wanted[BY_CARRIER.hash_attr] = scoped(m, flt.carrier)
    if flt.geo:
        wanted[BY_GEO.hash_attr] = scoped(m, flt.geo)
    country, since = flt.country, flt.updated_since

    def keep(item: Item) -> bool:
        if any(item.get(attr) != value for attr, value in wanted.items()):
            return False
        if country and (item.get("location") or {}).get("country") != country:
            return False
        return not (since and str(item.get("updated_at", "")) < since)

    kwargs: dict[str, Any] = {
        "TableName": settings.shipments_table,
        "IndexName": index.name,
        "KeyConditionExpression": "#h = :h",
        "ExpressionAttributeNames": {"#h": index.hash_attr},
        "ExpressionAttributeValues": {":h": _s(hash_value)},
        "ScanIndexForward": False,
    }
    filtered = len(wanted) > 1 or bool(country or since)
    key_attrs = frozenset({"merchant_id", "shipment_id", index.hash_attr, index.range_attr or "shipment_id"})
    scope = Scope(f"shipments:{index.name}:{sorted(flt.as_dict().items())}", key_attrs)
    return ShipmentQuery(m, index.name, kwargs, scope, keep, filtered)


class Reader:
    """Read models of the dashboard over the platform's tables (docs/ARCHITECTURE.md)."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    # -- generic ---------------------------------------------------------------------------------
    def page(self, merchant_id: str, kwargs: dict[str, Any], limit: int, start_key: dict[str, Any] | None,
             key_attrs: frozenset[str], budget: int = READ_BUDGET) -> Page:
        """Up to ``limit`` items of ``merchant_id`` from a Query on a table (its items are whole)."""
        return self._page(kwargs, limit, start_key, key_attrs, budget, fetch=None, keep=owned_by(merchant_id),
                          filtered=False)

    def index_page(self, query: ShipmentQuery, limit: int, start_key: dict[str, Any] | None,
                   budget: int = READ_BUDGET) -> Page:
        """Up to ``limit`` shipments of a KEYS_ONLY index Query, fetched with BatchGetItem in index order."""
        owned = owned_by(query.merchant_id)
        return self._page(query.kwargs, limit, start_key, query.scope.key_attrs, budget,
                          fetch=self.shipments_by_keys, keep=lambda item: owned(item) and query.keep(item),
                          filtered=query.filtered)

    def _page(self, kwargs: dict[str, Any], limit: int, start_key: dict[str, Any] | None,
              key_attrs: frozenset[str], budget: int, *, fetch: Callable[[list[Item]], list[Item | None]] | None,
              keep: Callable[[Item], bool], filtered: bool) -> Page:
        """Follow DynamoDB pages until ``limit`` items are kept, or the read budget is spent.

        The next key is the last returned item's key when a DynamoDB page had more matches than
        needed, so no item is skipped or repeated between pages.
        """
        items: list[Item] = []
        result = Page(items)
        lek = start_key
        filtered = filtered or "FilterExpression" in kwargs
        while True:
            want = limit - len(items)
            # Limit counts items evaluated, before any filter: read ahead when a filter thins them out.
            request = dict(kwargs, Limit=min(max(want * 4, 100), 1000) if filtered else want)
            if lek:
                request["ExclusiveStartKey"] = lek
            response = self.client.query(**request)
            result.calls += 1
            result.read += int(response.get("ScannedCount", 0))
            returned = response.get("Items", [])
            lek = response.get("LastEvaluatedKey")
            fetched = [from_attributes(raw) for raw in returned] if fetch is None else fetch(returned)
            pairs = [(raw, item) for raw, item in zip(returned, fetched, strict=True)
                     if item is not None and keep(item)]
            if len(pairs) > want:
                items.extend(item for _, item in pairs[:want])
                result.next_key = {a: pairs[want - 1][0][a] for a in key_attrs}
                break
            items.extend(item for _, item in pairs)
            if not lek or len(items) >= limit:
                result.next_key = lek
                break
            if result.read >= budget or result.calls >= MAX_CALLS:
                result.next_key = lek
                result.budget_exhausted = True
                break
        return result

    def shipments_by_keys(self, keys: list[Item]) -> list[Item | None]:
        """The shipment items of index entries (typed keys), in their order, with one BatchGetItem per 100;
        None where an item is gone."""
        table = self.settings.shipments_table
        wanted = [(k["merchant_id"]["S"], k["shipment_id"]["S"]) for k in keys]
        found: dict[tuple[str, str], Item] = {}
        distinct = list(dict.fromkeys(wanted))
        for start in range(0, len(distinct), BATCH_GET_LIMIT):
            chunk = distinct[start : start + BATCH_GET_LIMIT]
            request: dict[str, Any] = {table: {"Keys": [{"merchant_id": _s(m), "shipment_id": _s(s)}
                                                         for m, s in chunk]}}
            for attempt in range(1, 9):
                response = self.client.batch_get_item(RequestItems=request)
                for raw in response["Responses"].get(table, []):
                    item = from_attributes(raw)
                    found[(item["merchant_id"], item["shipment_id"])] = with_derived(item)
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                with_backoff.sleep_once(attempt)
            else:
                raise RuntimeError(f"BatchGetItem on {table} kept returning unprocessed keys")
        return [found.get(key) for key in wanted]

    def _shipments(self, response: dict[str, Any]) -> list[Item]:
        """The items behind one index Query response, in its order (callers check whose they are)."""
        return [item for item in self.shipments_by_keys(response.get("Items", [])) if item is not None]

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
        item = self._get(self.settings.shipments_table, {"merchant_id": merchant_id, "shipment_id": shipment_id})
        return with_derived(item) if item else None

    def shipments(self, query: ShipmentQuery, limit: int, start_key: dict[str, Any] | None) -> Page:
        return self.index_page(query, limit, start_key)

    def _by_unique_index(self, index: Index, value: str) -> list[dict[str, Any]]:
        return self._shipments(self.client.query(
            TableName=self.settings.shipments_table, IndexName=index.name,
            KeyConditionExpression="#k = :v", ExpressionAttributeNames={"#k": index.hash_attr},
            ExpressionAttributeValues={":v": _s(value)}, Limit=20,
        ))

    def search(self, merchant_id: str, term: str) -> list[dict[str, Any]]:
        """By shipment id (GetItem), tracking number (by_tracking) or order reference (by_order)."""
        found: dict[str, dict[str, Any]] = {}
        direct = self.shipment(merchant_id, term)
        if direct:
            found[direct["shipment_id"]] = direct
        for index in (BY_TRACKING, BY_ORDER):
            for item in self._by_unique_index(index, scoped(merchant_id, term)):
                if item.get("merchant_id") == merchant_id and item.get(index.hash_attr) == scoped(merchant_id, term):
                    found.setdefault(item["shipment_id"], item)
        return sorted(found.values(), key=lambda i: i["updated_key"], reverse=True)

    def by_token(self, token: str) -> dict[str, Any] | None:
        items = [i for i in self._by_unique_index(BY_TOKEN, token) if i.get(BY_TOKEN.hash_attr) == token]
        return items[0] if len(items) == 1 else None

    def timeline(self, entity: str, merchant_id: str) -> tuple[list[dict[str, Any]], bool]:
        """One entity's timeline in occurrence order (warehouse and carrier events together),
        each item expanded with its event's fields; entries of another merchant's events are dropped."""
        items, truncated = self._all({
            "TableName": self.settings.timeline_table,
            "KeyConditionExpression": "entity = :e",
            "ExpressionAttributeValues": {":e": _s(entity)},
        }, TIMELINE_MAX)
        expanded = (expand(item) for item in items)
        return [item for item in expanded if item.get("merchant_id", merchant_id) == merchant_id], truncated

    def notifications(self, merchant_id: str, shipment_id: str, limit: int = 100) -> list[dict[str, Any]]:
        response = self.client.query(
            TableName=self.settings.notifications_table,
            KeyConditionExpression="shipment_key = :k",
            ExpressionAttributeValues={":k": _s(f"{merchant_id}#{shipment_id}")},
            ScanIndexForward=False, Limit=limit,
        )
        return [item for item in map(from_attributes, response["Items"]) if item.get("merchant_id") == merchant_id]

    def attention(self, merchant_id: str, limit: int) -> list[dict[str, Any]]:
        """The sparse by_attention index (only shipments that need attention), newest attention first."""
        query = ShipmentQuery(merchant_id, BY_ATTENTION.name, {
            "TableName": self.settings.shipments_table, "IndexName": BY_ATTENTION.name,
            "KeyConditionExpression": f"{BY_ATTENTION.hash_attr} = :m",
            "ExpressionAttributeValues": {":m": _s(attention_key(merchant_id))}, "ScanIndexForward": False,
        }, Scope("attention", frozenset()), keep=lambda i: i.get(BY_ATTENTION.hash_attr) == attention_key(merchant_id))
        return self.index_page(query, limit, None).items

    def stale(self, merchant_id: str, before_key: str, limit: int) -> list[dict[str, Any]]:
        """Non-terminal shipments with no movement since ``before_key`` (a UTC time), oldest update first.

        One by_status Query per non-terminal status for the shipments whose status began before the
        cutoff (a shipment not updated since then cannot have changed status since either), oldest
        first, then their items; those updated after the cutoff are moving and left out. Terminal
        shipments are never read.
        """
        def still_stale(hash_value: str) -> Callable[[Item], bool]:
            return lambda i: i.get(BY_STATUS.hash_attr) == hash_value and i["updated_key"] < before_key

        found: list[dict[str, Any]] = []
        for status in MOVING:
            hash_value = scoped(merchant_id, status)
            query = ShipmentQuery(merchant_id, BY_STATUS.name, {
                "TableName": self.settings.shipments_table, "IndexName": BY_STATUS.name,
                "KeyConditionExpression": f"{BY_STATUS.hash_attr} = :s AND {STATUS_KEY} < :cut",
                "ExpressionAttributeValues": {":s": _s(hash_value), ":cut": _s(before_key)},
                "ScanIndexForward": True,
            }, Scope("stale", frozenset()), keep=still_stale(hash_value), filtered=True)
            found.extend(self.index_page(query, limit, None, budget=limit * 4).items)
        found.sort(key=lambda i: i["updated_key"])
        return found[:limit]

    def changes(self, merchant_id: str, since: str, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Shipments stored after ``since`` (an ingested_key), oldest first, from by_ingested: a late event
        about an old shipment is a change too, though it occurred in the past.

        Each item carries the ``ingested_key`` it was found under, so the next poll goes on from there (an
        item stored again meanwhile is simply found again, under its newer key)."""
        response = self.client.query(
            TableName=self.settings.shipments_table, IndexName=BY_INGESTED.name,
            KeyConditionExpression=_INGESTED_SINCE,
            ExpressionAttributeValues={":m": _s(merchant_id), ":since": _s(since)},
            ScanIndexForward=True, Limit=limit,
        )
        keys = response.get("Items", [])
        items = [{**item, INGESTED_KEY: key[INGESTED_KEY]["S"]}
                 for key, item in zip(keys, self.shipments_by_keys(keys), strict=True)
                 if item is not None and item.get("merchant_id") == merchant_id]
        return items, "LastEvaluatedKey" in response

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

    def latest(self, merchant_id: str, limit: int) -> list[dict[str, Any]]:
        """The most recently stored shipments, newest first (by_ingested: the recent-activity list)."""
        query = ShipmentQuery(merchant_id, BY_INGESTED.name, {
            "TableName": self.settings.shipments_table, "IndexName": BY_INGESTED.name,
            "KeyConditionExpression": f"{BY_INGESTED.hash_attr} = :m",
            "ExpressionAttributeValues": {":m": _s(merchant_id)}, "ScanIndexForward": False,
        }, Scope("latest", frozenset()))
        return self.index_page(query, limit, None, budget=limit * 2).items

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

    # -- warehouses (summaries and SKU items: warehouse_reads) -----------------------------------
    def warehouses(self, merchant_id: str, limit: int, start_key: dict[str, Any] | None) -> Page:
        """A page of warehouses, each a ``warehouse_reads.row`` with the first SKUs of its stock."""
        return warehouse_reads.list_page(self.client, self.settings.warehouses_table, merchant_id, limit, start_key)

    def warehouse(self, merchant_id: str, warehouse_id: str, start_key: dict[str, Any] | None = None,
                  limit: int = warehouse_reads.STOCK_PAGE) -> tuple[Item | None, Item, Item | None]:
        """One warehouse with a page of its stock (see ``warehouse_reads.stock_page``)."""
        return warehouse_reads.stock_page(self.client, self.settings.warehouses_table, merchant_id, warehouse_id,
                                          limit, start_key)

    # -- dead letters ----------------------------------------------------------------------------
    def dead_letters(self, merchant_id: str, limit: int, start_key: dict[str, Any] | None) -> Page:
        return self.page(merchant_id, {
            "TableName": self.settings.dead_letter_table,
            "KeyConditionExpression": "merchant_id = :m",
            "ExpressionAttributeValues": {":m": _s(merchant_id)},
            "ScanIndexForward": False,
        }, limit, start_key, DEAD_LETTERS.key_attrs)

    def dead_letter(self, merchant_id: str, dlq_key: str) -> dict[str, Any] | None:
        # Consistent: a replay decides on the state it reads here.
        return self._get(self.settings.dead_letter_table, {"merchant_id": merchant_id, "dlq_key": dlq_key},
                         consistent=True)
