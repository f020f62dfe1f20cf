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


def _on_hand_after(on_hand: dict[str, dict[str, Any]], event: WarehouseEvent) -> dict[str, dict[str, Any]]:
    if event.shipment_id is None:
        return on_hand
    if event.event_type in HANDLING:
        since = on_hand.get(event.shipment_id, {}).get("since", event.occurred_utc)
        entry = {"since": since, "stage": event.event_type, "zone": event.zone}
        return {**on_hand, event.shipment_id: entry}
    if event.event_type in LEAVING:
        return {k: v for k, v in on_hand.items() if k != event.shipment_id}
    return on_hand


def step(state: WarehouseState | None, event: WarehouseEvent) -> WarehouseState:
    """Apply one movement (events must come in occurrence order)."""
    if state is None:
        state = WarehouseState(
            merchant_id=event.merchant_id,
            warehouse_id=event.warehouse_id,
            updated_at=event.occurred_utc,
            high_water=event.sort_key,
        )
    return replace(
        state,
        stock=_stock_after(state.stock, event),
        on_hand=_on_hand_after(state.on_hand, event),
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
