"""The dashboard's reads of WarehousesTable: a page of warehouses with the first SKUs of each, and one
warehouse's stock page by page.

A warehouse is a summary item and, once its stock outgrew it, one item per SKU right after it in the
merchant's partition (``logistics.adapters.warehouse_items``). So one warehouse is one Query
(``<warehouse>`` .. ``<warehouse>$``), and the list walks the partition: it reads a summary and its first
SKUs, then skips the rest of that stock with a key condition past it (``> <warehouse>$``), so a warehouse
of 12,000 SKUs costs the list no more than one of ten.
"""

from __future__ import annotations

from typing import Any

from chalicelib.paging import Page
from logistics.adapters.codec import from_attributes
from logistics.adapters.warehouse_items import current_stock, parse_key, past, state_from_item

STOCK_PREVIEW = 20  # SKUs shown with each warehouse of the list
STOCK_PAGE = 500  # SKUs per page of one warehouse's stock

Item = dict[str, Any]


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _key(merchant_id: str, sort_key: str) -> Item:
    return {"merchant_id": _s(merchant_id), "warehouse_id": _s(sort_key)}


def row(summary: Item, sku_items: list[Item], most: int | None = None) -> Item:
    """A warehouse as the views take it: its summary, the stock read with it (at most ``most`` SKUs, the
    first by name), and whether that is all of it."""
    stock = current_stock(summary, sku_items)
    if most is not None and len(stock) > most:
        stock = dict(sorted(stock.items())[:most])
    return {"summary": summary, "stock": stock, "stock_complete": len(stock) >= state_from_item(summary).skus}


def list_page(client: Any, table: str, merchant_id: str, limit: int, start_key: Item | None) -> Page:
    """Up to ``limit`` warehouses of the merchant, in id order, each with up to STOCK_PREVIEW SKUs.

    ``Page.items`` are :func:`row` dicts; ``next_key`` holds the sort key the next page starts after.
    Calls: one per warehouse whose stock is in SKU items (its preview, then a skip), far fewer otherwise.
    """
    after = start_key["warehouse_id"]["S"] if start_key else None
    found: list[tuple[Item, list[Item]]] = []
    page = Page([])
    while page.calls < 2 * limit + 4:
        condition = "merchant_id = :m" + (" AND warehouse_id > :a" if after else "")
        values = {":m": _s(merchant_id), **({":a": _s(after)} if after else {})}
        response = client.query(TableName=table, KeyConditionExpression=condition,
                                ExpressionAttributeValues=values, Limit=limit - len(found) + STOCK_PREVIEW + 1)
        page.calls += 1
        page.read += int(response.get("ScannedCount", 0))
        skip_past: str | None = None
        for raw in response.get("Items", []):
            item = from_attributes(raw)
            warehouse_id, sku = parse_key(item["warehouse_id"])
            if item.get("merchant_id") != merchant_id:
                continue  # never another merchant's, whatever key it sits under
            if sku is None:
                if len(found) == limit:  # one more warehouse exists: this page ends before it
                    page.items = [row(s, i, STOCK_PREVIEW) for s, i in found]
                    page.next_key = _key(merchant_id, past(found[-1][0]["warehouse_id"]))
                    return page
                found.append((item, []))
            elif found and found[-1][0]["warehouse_id"] == warehouse_id and len(found[-1][1]) < STOCK_PREVIEW:
                found[-1][1].append(item)
            else:  # the preview is full (or stock without a summary): skip the rest of this stock
                skip_past = past(warehouse_id)
                break
            after = item["warehouse_id"]
        if skip_past is not None:
            after = skip_past
        elif "LastEvaluatedKey" not in response:
            break
        else:
            after = response["LastEvaluatedKey"]["warehouse_id"]["S"]
    else:
        page.budget_exhausted = True  # not reached with real data: each call adds or skips a warehouse
        page.next_key = _key(merchant_id, after) if after else None
    page.items = [row(s, i, STOCK_PREVIEW) for s, i in found]
    return page


def stock_page(client: Any, table: str, merchant_id: str, warehouse_id: str, limit: int,
               start_key: Item | None) -> tuple[Item | None, Item, Item | None]:
    """One warehouse: (its summary or None, a :func:`row` with up to ``limit`` SKUs from ``start_key``, the
    key of the next stock page or None). The first page is one Query, summary included."""
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "merchant_id = :m AND warehouse_id BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {":m": _s(merchant_id), ":lo": _s(warehouse_id), ":hi": _s(past(warehouse_id))},
    }
    if start_key:
        request["ExclusiveStartKey"] = start_key
    summary: Item | None = None
    stock_items: list[Item] = []
    while len(stock_items) <= limit:
        request["Limit"] = limit + 2 - len(stock_items)  # the summary, the page, one more to know there is more
        response = client.query(**request)
        for item in map(from_attributes, response.get("Items", [])):
            if item.get("merchant_id") != merchant_id:
                continue
            if parse_key(item["warehouse_id"])[1] is None:
                summary = item
            else:
                stock_items.append(item)
        if "LastEvaluatedKey" not in response:
            break
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    if summary is None and start_key:  # a later page starts past the summary
        raw = client.get_item(TableName=table, Key=_key(merchant_id, warehouse_id))
        summary = from_attributes(raw["Item"]) if "Item" in raw else None
    if summary is None:
        return None, {}, None
    next_key = None
    if len(stock_items) > limit:
        stock_items = stock_items[:limit]
        next_key = _key(merchant_id, stock_items[-1]["warehouse_id"])
    return summary, row(summary, stock_items), next_key
