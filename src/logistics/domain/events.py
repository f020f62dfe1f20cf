"""Domain events: what happened to a shipment or in a warehouse, free of any transport."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from logistics.domain.status import Status


def to_utc(timestamp: str) -> str:
    """Normalise an ISO 8601 timestamp with offset to UTC with millisecond precision.

    The fixed width makes the string sort in time order, which the storage keys rely on.
    """
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {timestamp!r} has no UTC offset")
    u = moment.astimezone(UTC)  # OverflowError when the offset takes it out of years 1-9999
    # Formatted by hand: strftime's %Y does not pad years before 1000 on every platform.
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
            f".{u.microsecond // 1000:03d}Z")


@dataclass(frozen=True)
class ShipmentEvent:
    """A carrier or merchant update about one shipment (contract: shipment-event)."""

    event_id: str
    merchant_id: str
    shipment_id: str
    status: Status
    occurred_at: str  # as sent, with its local offset
    event_type: str = "tracking_update"
    sub_status: str | None = None
    order_ref: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    location: dict[str, Any] | None = None
    eta: dict[str, Any] | None = None
    exception: dict[str, Any] | None = None
    customer: dict[str, Any] | None = None
    correction_of: str | None = None
    warehouse_id: str | None = None  # set when derived from a warehouse event
    source_event_type: str | None = None  # the warehouse event type it was derived from
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def occurred_utc(self) -> str:
        return to_utc(self.occurred_at)

    @property
    def sort_key(self) -> str:
        """Occurrence order, ties broken by event id: the order every fold uses."""
        return f"{self.occurred_utc}#{self.event_id}"

    @property
    def is_correction(self) -> bool:
        return self.event_type == "correction"


@dataclass(frozen=True)
class StockLine:
    sku: str
    qty: int


@dataclass(frozen=True)
class WarehouseEvent:
    """A stock or handling movement in one warehouse (contract: warehouse-event)."""

    event_id: str
    merchant_id: str
    warehouse_id: str
    event_type: str
    occurred_at: str
    items: tuple[StockLine, ...] = ()
    zone: str | None = None
    bin: str | None = None
    shipment_id: str | None = None
    order_ref: str | None = None
    actor: str | None = None
    location: dict[str, Any] | None = None

    @property
    def occurred_utc(self) -> str:
        return to_utc(self.occurred_at)

    @property
    def sort_key(self) -> str:
        return f"{self.occurred_utc}#{self.event_id}"


# What a warehouse movement means for the shipment it handles.
WAREHOUSE_TO_SHIPMENT_STATUS: dict[str, Status] = {
    "picked": Status.PROCESSING,
    "packed": Status.PROCESSING,
    "staged": Status.READY_TO_SHIP,
    "loaded": Status.READY_TO_SHIP,
    "dispatched": Status.READY_TO_SHIP,
    "return_received": Status.RETURNED,
}


def shipment_view(event: WarehouseEvent) -> ShipmentEvent | None:
    """The shipment-timeline face of a warehouse event that names a shipment, if it moves its status."""
    status = WAREHOUSE_TO_SHIPMENT_STATUS.get(event.event_type)
    if event.shipment_id is None or status is None:
        return None
    return ShipmentEvent(
        event_id=event.event_id,
        merchant_id=event.merchant_id,
        shipment_id=event.shipment_id,
        status=status,
        occurred_at=event.occurred_at,
        event_type="warehouse_" + event.event_type,
        sub_status=event.event_type,
        order_ref=event.order_ref,
        location=event.location,
        warehouse_id=event.warehouse_id,
        source_event_type=event.event_type,
    )
