"""WarehousesTable items: one summary per warehouse and, once its stock outgrows the summary, one item per SKU.

Keys ``merchant_id`` (HASH) / ``warehouse_id`` (RANGE), as the table always had:

* ``<warehouse>``: the summary. ``WarehouseState`` (on hand, counters ``skus`` and ``units``, high water,
  recent ids), ``version``, and either ``stock`` (the whole map, while it is at most
  ``INLINE_STOCK_BYTES``: one write per batch, as before) or, once outgrown, ``pending`` (the quantities its
  write changed, copied to the SKU items just after it) and ``stock_behind`` (that write's changes did not
  all fit ``pending``: the next write must re-fold and compare every SKU item).
* ``<warehouse>#SKU#<sku>``: one SKU, ``qty`` and ``version`` (the summary version whose write set it).

A warehouse id never contains '#' (``contracts.ID_PATTERN``) and every character it may hold sorts after
'$', so the sort keys from ``<warehouse>`` to ``<warehouse>$`` are exactly one warehouse's items, summary
first: a page of a warehouse is one Query. SKUs are free text, but they only ever follow the tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from logistics.domain.warehouse import Stock, WarehouseState

STOCK_TAG = "#SKU#"
# Stock kept in the summary up to this many bytes (~100 SKUs of 10 characters). The summary is written
# whole on every change (1 write unit per KB), each SKU item costs 1 unit when it changes: with the couple
# of SKUs a batch usually moves, the split costs less from about 2 KB of stock on, and it is what lets a
# warehouse hold any number of SKUs.
INLINE_STOCK_BYTES = 2048
# The quantities one summary write may carry in ``pending`` (~2,500 SKUs of 20 characters). With
# ``on_hand`` at its bound (~225 KB) the summary stays well inside DynamoDB's 400 KB.
PENDING_BYTES = 64 * 1024

_STATE_FIELDS = frozenset(WarehouseState.__dataclass_fields__)


def stock_key(warehouse_id: str, sku: str) -> str:
    """The sort key of one SKU's item."""
    return f"{warehouse_id}{STOCK_TAG}{sku}"


def stock_prefix(warehouse_id: str) -> str:
    """What the sort key of every SKU item of the warehouse begins with."""
    return f"{warehouse_id}{STOCK_TAG}"


def past(warehouse_id: str) -> str:
    """A sort key after every item of the warehouse and before any other warehouse's."""
    return f"{warehouse_id}$"


def parse_key(sort_key: str) -> tuple[str, str | None]:
    """The warehouse a sort key belongs to, and its SKU (None for the summary)."""
    warehouse_id, tag, sku = sort_key.partition(STOCK_TAG)
    return (warehouse_id, sku) if tag else (sort_key, None)


def map_bytes(stock: Mapping[str, int]) -> int:
    """An upper estimate of the bytes a SKU -> quantity map takes in an item (DynamoDB's sizing rules)."""
    return 3 + sum(len(sku.encode("utf-8")) + 3 + len(str(abs(qty))) // 2 for sku, qty in stock.items())


def chunks(stock: Mapping[str, int], budget: int = PENDING_BYTES) -> list[Stock]:
    """``stock`` cut into maps of at most ``budget`` bytes each, in SKU order (at least one, maybe empty)."""
    parts: list[Stock] = [{}]
    size = 3
    for sku in sorted(stock):
        entry = map_bytes({sku: stock[sku]}) - 3
        if parts[-1] and size + entry > budget:
            parts.append({})
            size = 3
        parts[-1][sku] = stock[sku]
        size += entry
    return parts


def summary_item(state: WarehouseState, *, stock: Mapping[str, int] | None = None,
                 pending: Mapping[str, int] | None = None, behind: bool = False) -> dict[str, Any]:
    """The summary item of a state: with its whole ``stock`` (small warehouses), or with the ``pending``
    quantities its write changed (``behind``: more of them follow in the next writes)."""
    item = asdict(state)
    item["recent_event_ids"] = list(state.recent_event_ids)
    if stock is not None:
        item["stock"] = dict(stock)
    elif pending:
        item["pending"] = dict(pending)
    if behind:
        item["stock_behind"] = True
    return item


def state_from_item(item: Mapping[str, Any]) -> WarehouseState:
    """The state a summary item holds (an item written before the counters existed counts its ``stock``)."""
    data = {k: v for k, v in item.items() if k in _STATE_FIELDS}
    data["recent_event_ids"] = tuple(data.get("recent_event_ids") or ())
    stock = item.get("stock")
    if stock is not None and "skus" not in item:
        data.update(skus=len(stock), units=sum(int(q) for q in stock.values()))
    return WarehouseState(**data)


def inline_stock(item: Mapping[str, Any]) -> Stock | None:
    """The whole stock when the summary holds it, None when the warehouse keeps it in SKU items."""
    stock = item.get("stock")
    return None if stock is None else {sku: int(qty) for sku, qty in stock.items()}


def stock_item(merchant_id: str, warehouse_id: str, sku: str, qty: int, version: int) -> dict[str, Any]:
    return {"merchant_id": merchant_id, "warehouse_id": stock_key(warehouse_id, sku), "qty": qty, "version": version}


def current_stock(summary: Mapping[str, Any], sku_items: Iterable[Mapping[str, Any]]) -> Stock:
    """What a reader shows of a warehouse's stock: the summary's own map, or the SKU items read with it,
    with the quantities its last write left pending (being copied to the items) taking precedence."""
    inline = inline_stock(summary)
    if inline is not None:
        return inline
    pending = summary.get("pending") or {}
    stock: Stock = {}
    for item in sku_items:
        _, sku = parse_key(item["warehouse_id"])
        if sku is not None:
            stock[sku] = int(pending.get(sku, item["qty"]))
    return stock
