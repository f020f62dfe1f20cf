"""Shipment state as a fold of its events in occurrence order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from logistics.domain.eta import lead_hours
from logistics.domain.events import ShipmentEvent
from logistics.domain.folding import Disposition, remember, unique_in_order
from logistics.domain.geography import geography
from logistics.domain.status import TERMINAL, Status, is_allowed

ATTENTION_STATUSES = frozenset({Status.EXCEPTION, Status.DELIVERY_ATTEMPTED, Status.LOST})


@dataclass(frozen=True)
class ShipmentState:
    """Current state of one shipment. Every field derives from the set of its events."""

    merchant_id: str
    shipment_id: str
    status: Status
    status_event_id: str
    status_changed_at: str  # UTC, when the event that set the status occurred
    updated_at: str  # UTC, the newest applied event
    high_water: str  # sort key of the newest event folded in, whatever it did
    sub_status: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    order_ref: str | None = None
    location: dict[str, Any] | None = None
    origin: dict[str, Any] | None = None
    eta: dict[str, Any] | None = None
    exception: dict[str, Any] | None = None
    customer: dict[str, Any] | None = None
    warehouse_id: str | None = None
    milestones: dict[str, str] = field(default_factory=dict)  # status -> first time reached (UTC)
    # status -> whole hours from first reaching it to the ETA then in force: what the carrier promised at each
    # milestone, so a delivered shipment teaches its lane how far off each promise was (domain.lanes).
    eta_leads: dict[str, int] = field(default_factory=dict)
    service_level: str | None = None  # same_day | express | standard | economy (v2 events), first known wins
    event_count: int = 0
    late_count: int = 0
    corrections: int = 0
    recent_event_ids: tuple[str, ...] = ()

    @property
    def geo(self) -> str | None:
        """Broad geography (EU, NA, APAC, ...) of the current location."""
        country = (self.location or {}).get("country")
        return geography(country) if country else None

    @property
    def needs_attention(self) -> bool:
        return self.status in ATTENTION_STATUSES

    @property
    def attention_reason(self) -> str | None:
        if self.status == Status.EXCEPTION:
            return (self.exception or {}).get("reason") or "exception"
        if self.status == Status.DELIVERY_ATTEMPTED:
            return "delivery attempted"
        if self.status == Status.LOST:
            return "lost"
        return None


@dataclass(frozen=True)
class ShipmentFold:
    """Result of folding events: the state and what each event did."""

    state: ShipmentState | None
    dispositions: dict[str, Disposition]


def _counted(state: ShipmentState, event: ShipmentEvent, *, late: bool = False) -> ShipmentState:
    return replace(
        state,
        high_water=max(state.high_water, event.sort_key),
        event_count=state.event_count + 1,
        late_count=state.late_count + (1 if late else 0),
        corrections=state.corrections + (1 if event.is_correction else 0),
        recent_event_ids=remember(state.recent_event_ids, event.event_id),
    )


def _service_level(event: ShipmentEvent) -> str | None:
    value = event.extra.get("service_level")
    return value if isinstance(value, str) and value else None


def _timezone(customer: dict[str, Any] | None) -> str | None:
    tz = (customer or {}).get("timezone")
    return tz if isinstance(tz, str) else None


def _with_lead(leads: dict[str, int], status: Status, eta: dict[str, Any] | None, customer: dict[str, Any] | None,
               at: str) -> dict[str, int]:
    if status in TERMINAL:  # nothing is predicted from an end
        return leads
    lead = lead_hours(eta, _timezone(customer), at)
    return leads if lead is None else {**leads, status.value: lead}


def _start(event: ShipmentEvent) -> ShipmentState:
    at = event.occurred_utc
    return ShipmentState(
        merchant_id=event.merchant_id,
        shipment_id=event.shipment_id,
        status=event.status,
        status_event_id=event.event_id,
        status_changed_at=at,
        updated_at=at,
        high_water=event.sort_key,
        sub_status=event.sub_status,
        carrier=event.carrier,
        tracking_number=event.tracking_number,
        order_ref=event.order_ref,
        location=event.location,
        origin=event.location,
        eta=event.eta,
        exception=event.exception if event.status == Status.EXCEPTION else None,
        customer=event.customer,
        warehouse_id=event.warehouse_id,
        milestones={event.status.value: at},
        eta_leads=_with_lead({}, event.status, event.eta, event.customer, at),
        service_level=_service_level(event),
        event_count=1,
        corrections=1 if event.is_correction else 0,
        recent_event_ids=(event.event_id,),
    )


def _apply(state: ShipmentState, event: ShipmentEvent) -> ShipmentState:
    at = event.occurred_utc
    changed = event.status != state.status
    milestones, leads = state.milestones, state.eta_leads
    eta, customer = event.eta or state.eta, event.customer or state.customer
    if event.status.value not in milestones:
        milestones = {**milestones, event.status.value: at}
        leads = _with_lead(leads, event.status, eta, customer, at)
    return replace(
        state,
        status=event.status,
        status_event_id=event.event_id if changed or event.is_correction else state.status_event_id,
        status_changed_at=at if changed else state.status_changed_at,
        updated_at=max(state.updated_at, at),
        sub_status=event.sub_status,
        carrier=event.carrier or state.carrier,
        tracking_number=event.tracking_number or state.tracking_number,
        order_ref=event.order_ref or state.order_ref,
        location=event.location or state.location,
        origin=state.origin or event.location,
        eta=eta,
        exception=event.exception if event.status == Status.EXCEPTION else None,
        customer=customer,
        # Only warehouse-derived events say which warehouse holds the parcel; carrier events take it out.
        warehouse_id=event.warehouse_id,
        milestones=milestones,
        eta_leads=leads,
        service_level=state.service_level or _service_level(event),
    )


def step(
    state: ShipmentState | None, event: ShipmentEvent, voided: frozenset[str] = frozenset()
) -> tuple[ShipmentState, Disposition]:
    """Fold one event onto a state (events must come in occurrence order)."""
    if state is None:
        started = _start(event)
        if event.event_id in voided:
            # A voided first event still opens the record, but it is marked and counts for nothing else.
            return started, Disposition.VOIDED
        return started, Disposition.CORRECTION if event.is_correction else Disposition.APPLIED
    if event.event_id in voided:
        return _counted(state, event), Disposition.VOIDED
    if event.is_correction:
        return _counted(_apply(state, event), event), Disposition.CORRECTION
    if not is_allowed(state.status, event.status):
        if state.status in TERMINAL:
            return _counted(state, event), Disposition.IGNORED
        return _counted(state, event, late=True), Disposition.LATE
    return _counted(_apply(state, event), event), Disposition.APPLIED


def fold(events: Iterable[ShipmentEvent], state: ShipmentState | None = None) -> ShipmentFold:
    """Fold events (any order, duplicates allowed) onto ``state`` in occurrence order.

    With ``state`` given, every event must sort after ``state.high_water`` (see folding.plan);
    from ``None`` the result depends only on the set of events.
    """
    ordered = unique_in_order(events)
    voided = frozenset(e.correction_of for e in ordered if e.is_correction and e.correction_of)
    dispositions: dict[str, Disposition] = {}
    if state is None:
        # A voided event changes nothing, not even when it comes first: the record opens with the first
        # event that counts, and the voided ones before it are only counted (unless every event is voided).
        opener = next((i for i, e in enumerate(ordered) if e.event_id not in voided), 0)
        if opener:
            leading, ordered = ordered[:opener], ordered[opener:]
            state, disposition = step(None, ordered[0], voided)
            recent: tuple[str, ...] = ()
            for event in (*leading, ordered[0]):
                recent = remember(recent, event.event_id)
                dispositions[event.event_id] = Disposition.VOIDED
            dispositions[ordered[0].event_id] = disposition
            state = replace(
                state,
                event_count=state.event_count + len(leading),
                corrections=state.corrections + sum(1 for e in leading if e.is_correction),
                recent_event_ids=recent,
            )
            ordered = ordered[1:]
    for event in ordered:
        state, dispositions[event.event_id] = step(state, event, voided)
    return ShipmentFold(state, dispositions)
