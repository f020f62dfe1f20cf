"""Builders shared by the domain tests: events of one shipment / one warehouse with readable defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from logistics.domain.events import ShipmentEvent, StockLine, WarehouseEvent
from logistics.domain.status import Status

MERCHANT = "m-1"
SHIPMENT = "s-1"
WAREHOUSE = "w-1"
BASE = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
BERLIN = {"city": "Berlin", "country": "DE", "lat": 52.52, "lon": 13.4, "facility_id": "BER1"}
LYON = {"city": "Lyon", "country": "FR"}
NEW_YORK = {"city": "New York", "country": "US"}
TOKYO = {"city": "Tokyo", "country": "JP"}
EXC_INFO = {"reason": "address unknown", "responsible_party": "customer", "action_required": "confirm address"}


def at(minute: float, offset_minutes: int = 0) -> str:
    """BASE + ``minute`` minutes, written in the local time of a place at UTC+``offset_minutes``."""
    moment = (BASE + timedelta(minutes=minute)).astimezone(timezone(timedelta(minutes=offset_minutes)))
    return moment.isoformat(timespec="milliseconds")


def utc(minute: float) -> str:
    """The UTC form ``to_utc`` produces for BASE + ``minute`` minutes."""
    return (BASE + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ev(event_id: str, status: Status | str, minute: float, *, offset: int = 0, **fields: Any) -> ShipmentEvent:
    status = Status(status)
    if status == Status.EXCEPTION and "exception" not in fields:
        fields["exception"] = dict(EXC_INFO)
    fields.setdefault("merchant_id", MERCHANT)
    fields.setdefault("shipment_id", SHIPMENT)
    return ShipmentEvent(event_id=event_id, status=status, occurred_at=at(minute, offset), **fields)


def correction(event_id: str, corrects: str, status: Status | str, minute: float, **fields: Any) -> ShipmentEvent:
    return ev(event_id, status, minute, event_type="correction", correction_of=corrects, **fields)


def wev(
    event_id: str,
    event_type: str,
    minute: float,
    items: tuple[tuple[str, int], ...] = (),
    *,
    offset: int = 0,
    **fields: Any,
) -> WarehouseEvent:
    fields.setdefault("merchant_id", MERCHANT)
    fields.setdefault("warehouse_id", WAREHOUSE)
    return WarehouseEvent(
        event_id=event_id,
        event_type=event_type,
        occurred_at=at(minute, offset),
        items=tuple(StockLine(sku, qty) for sku, qty in items),
        **fields,
    )
