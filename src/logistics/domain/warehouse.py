"""Warehouse state (shipments on hand, stock counters) and stock per SKU, as a fold of its movements.

The quantity of one SKU is the fold of the movements that name it, in occurrence order, whatever the other
SKUs do. So a fold does not need the whole stock: it starts from the quantities of the SKUs its events move
and returns theirs, and the state keeps only counters (how many SKUs, how many units). That is what lets the
store keep each SKU in an item of its own, however many there are (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from logistics.domain.events import WarehouseEvent
from logistics.domain.folding import Disposition, remember, unique_in_order

INBOUND = frozenset({"received", "return_received"})  # stock arrives
OUTBOUND_PICK = "picked"  # stock leaves the shelves for a shipment
ADJUSTED = "adjusted"  # a signed delta
COUNTED = "cycle_counted"  # an absolute quantity: it resets whatever came before it
STOCK_MOVES = INBOUND | {OUTBOUND_PICK, ADJUSTED, COUNTED}  # the event types whose lines change stock
HANDLING = frozenset({"picked", "packed", "staged"})  # the shipment is being worked on here
LEAVING = frozenset({"loaded", "dispatched"})  # the shipment leaves the building
# Shipments on hand kept in the state (the item must fit DynamoDB's 400 KB: an entry is up to ~450 bytes).
# Beyond it the entry that has been on hand longest is dropped and counted in ``on_hand_dropped``; the
# complete list of shipments in a warehouse is the ``by_warehouse`` index of ShipmentsTable.
MAX_ON_HAND = 500

Stock = dict[str, int]  # SKU -> quantity


@dataclass(frozen=True)
class WarehouseState:
    """Shipments on hand in one warehouse and the counters of its stock (the quantities are kept apart)."""

    merchant_id: str
    warehouse_id: str
    updated_at: str
    high_water: str
    on_hand: dict[str, dict[str, Any]] = field(default_factory=dict)  # shipment id -> {since, stage, zone}
    location: dict[str, Any] | None = None
    event_count: int = 0
    recent_event_ids: tuple[str, ...] = ()
    on_hand_dropped: int = 0  # entries dropped from on_hand to keep it within MAX_ON_HAND
    skus: int = 0  # SKUs with a stock entry (moved at least once, even if back to 0)
    units: int = 0  # the sum of their quantities


@dataclass(frozen=True)
class WarehouseFold:
    state: WarehouseState | None
    dispositions: dict[str, Disposition]
    # After the fold: the quantity of every SKU given to it or moved by its events. From nothing, the whole stock.
    stock: Stock = field(default_factory=dict)


def stock_skus(events: Iterable[WarehouseEvent]) -> set[str]:
    """The SKUs whose quantity these events move (what a fold onto a stored state needs to be given)."""
    return {line.sku for event in events if event.event_type in STOCK_MOVES for line in event.items}


def changed_stock(before: Mapping[str, int], after: Mapping[str, int]) -> Stock:
    """The entries of ``after`` that ``before`` lacks or holds with another quantity."""
    return {sku: qty for sku, qty in after.items() if before.get(sku) != qty}


def _move_stock(stock: Stock, event: WarehouseEvent) -> tuple[int, int]:
    """Apply the event's lines to ``stock`` in place; returns (SKUs added, units added)."""
    added_skus = added_units = 0
    if event.event_type not in STOCK_MOVES:
        return 0, 0
    for line in event.items:
        before = stock.get(line.sku)
        if event.event_type == COUNTED:
            after = line.qty
        elif event.event_type == OUTBOUND_PICK:
            after = (before or 0) - line.qty
        else:  # inbound, or an adjustment's signed delta
            after = (before or 0) + line.qty
        stock[line.sku] = after
        added_skus += before is None
        added_units += after - (before or 0)
    return added_skus, added_units


def _on_hand_after(on_hand: dict[str, dict[str, Any]], event: WarehouseEvent) -> tuple[dict[str, dict[str, Any]], int]:
    """The shipments on hand after the event, and how many entries were dropped to stay within MAX_ON_HAND."""
    if event.shipment_id is None:
        return on_hand, 0
    if event.event_type in HANDLING:
        since = on_hand.get(event.shipment_id, {}).get("since", event.occurred_utc)
        entry = {"since": since, "stage": event.event_type, "zone": event.zone}
        updated = {**on_hand, event.shipment_id: entry}
        if len(updated) <= MAX_ON_HAND:
            return updated, 0
        # The oldest arrival (ties: the smallest id) leaves the state; deterministic, so folds agree.
        oldest = min(updated, key=lambda k: (str(updated[k].get("since")), k))
        return {k: v for k, v in updated.items() if k != oldest}, 1
    if event.event_type in LEAVING:
        return {k: v for k, v in on_hand.items() if k != event.shipment_id}, 0
    return on_hand, 0


def step(state: WarehouseState | None, event: WarehouseEvent, stock: Stock) -> WarehouseState:
    """Apply one movement (events must come in occurrence order).

    ``stock`` holds the quantity of each SKU the event moves that has one, and is updated in place (a fold
    keeps one working copy rather than copying the stock per event).
    """
    if state is None:
        state = WarehouseState(
            merchant_id=event.merchant_id,
            warehouse_id=event.warehouse_id,
            updated_at=event.occurred_utc,
            high_water=event.sort_key,
        )
    on_hand, dropped = _on_hand_after(state.on_hand, event)
    added_skus, added_units = _move_stock(stock, event)
    return replace(
        state,
        on_hand=on_hand,
        on_hand_dropped=state.on_hand_dropped + dropped,
        skus=state.skus + added_skus,
        units=state.units + added_units,
        location=event.location or state.location,
        updated_at=max(state.updated_at, event.occurred_utc),
        high_water=max(state.high_water, event.sort_key),
        event_count=state.event_count + 1,
        recent_event_ids=remember(state.recent_event_ids, event.event_id),
    )


def fold(
    events: Iterable[WarehouseEvent], state: WarehouseState | None = None, stock: Mapping[str, int] | None = None
) -> WarehouseFold:
    """Fold movements (any order, duplicates allowed) in occurrence order onto ``state``.

    ``stock``: the quantity in ``state`` of each SKU these events move that has one (at least
    ``stock_skus(events)``; a SKU it lacks is new: it starts at 0 and counts as one more SKU). It is not
    modified; the result's ``stock`` is it after the events.
    """
    working = dict(stock or {})
    dispositions: dict[str, Disposition] = {}
    for event in unique_in_order(events):
        state = step(state, event, working)
        dispositions[event.event_id] = Disposition.APPLIED
    return WarehouseFold(state, dispositions, working)
