"""Warehouse state (stock per SKU, shipments on hand) as a fold of its movements."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from logistics.domain.events import WarehouseEvent
from logistics.domain.folding import Disposition, remember, unique_in_order

INBOUND = frozenset({"received", "return_received"})  # stock arrives
OUTBOUND_PICK = "picked"  # stock leaves the shelves for a shipment
HANDLING = frozenset({"picked", "packed", "staged"})  # the shipment is being worked on here
LEAVING = frozenset({"loaded", "dispatched"})  # the shipment leaves the building
# Shipments on hand kept in the state (the item must fit DynamoDB's 400 KB: an entry is up to ~450 bytes).
# Beyond it the entry that has been on hand longest is dropped and counted in ``on_hand_dropped``; the
# complete list of shipments in a warehouse is the ``by_warehouse`` index of ShipmentsTable.
MAX_ON_HAND = 500


@dataclass(frozen=True)
class WarehouseState:
    """Stock and shipments on hand in one warehouse."""

    merchant_id: str
    warehouse_id: str
    updated_at: str
    high_water: str
    stock: dict[str, int] = field(default_factory=dict)
    on_hand: dict[str, dict[str, Any]] = field(default_factory=dict)  # shipment id -> {since, stage, zone}
    location: dict[str, Any] | None = None
    event_count: int = 0
    recent_event_ids: tuple[str, ...] = ()
    on_hand_dropped: int = 0  # entries dropped from on_hand to keep it within MAX_ON_HAND


@dataclass(frozen=True)
class WarehouseFold:
    state: WarehouseState | None
    dispositions: dict[str, Disposition]


def _stock_after(stock: dict[str, int], event: WarehouseEvent) -> dict[str, int]:
    if not event.items:
        return stock
    updated = dict(stock)
    for line in event.items:
        if event.event_type in INBOUND or event.event_type == "adjusted":
            updated[line.sku] = updated.get(line.sku, 0) + line.qty  # adjusted carries a signed delta
        elif event.event_type == OUTBOUND_PICK:
            updated[line.sku] = updated.get(line.sku, 0) - line.qty
        elif event.event_type == "cycle_counted":
            updated[line.sku] = line.qty  # a count is absolute: it resets whatever came before it
    return updated


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


def step(state: WarehouseState | None, event: WarehouseEvent) -> WarehouseState:
    """Apply one movement (events must come in occurrence order)."""
    if state is None:
        state = WarehouseState(
            merchant_id=event.merchant_id,
            warehouse_id=event.warehouse_id,
            updated_at=event.occurred_utc,
            high_water=event.sort_key,
        )
    on_hand, dropped = _on_hand_after(state.on_hand, event)
    return replace(
        state,
        stock=_stock_after(state.stock, event),
        on_hand=on_hand,
        on_hand_dropped=state.on_hand_dropped + dropped,
        location=event.location or state.location,
        updated_at=max(state.updated_at, event.occurred_utc),
        high_water=max(state.high_water, event.sort_key),
        event_count=state.event_count + 1,
        recent_event_ids=remember(state.recent_event_ids, event.event_id),
    )


def fold(events: Iterable[WarehouseEvent], state: WarehouseState | None = None) -> WarehouseFold:
    """Fold movements (any order, duplicates allowed) in occurrence order onto ``state``."""
    dispositions: dict[str, Disposition] = {}
    for event in unique_in_order(events):
        state = step(state, event)
        dispositions[event.event_id] = Disposition.APPLIED
    return WarehouseFold(state, dispositions)
