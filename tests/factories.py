"""Builders of contract-valid event payloads and Kafka records for tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

from logistics.service.ingest import InboundRecord

_ids = itertools.count(1)


def shipment_event(shipment_id: str = "s1", status: str = "IN_TRANSIT", at: str = "2026-11-20T10:00:00+01:00",
                   merchant_id: str = "m1", **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event_id": fields.pop("event_id", f"e{next(_ids)}"),
        "schema_version": 1,
        "event_type": "tracking_update",
        "merchant_id": merchant_id,
        "shipment_id": shipment_id,
        "order_ref": f"order-{shipment_id}",
        "carrier": "DHL",
        "tracking_number": f"TRK-{shipment_id}",
        "status": status,
        "sub_status": None,
        "occurred_at": at,
        "location": {"city": "Berlin", "region": "Berlin", "country": "DE", "lat": 52.52, "lon": 13.4,
                     "facility_id": "BER1"},
        "eta": {"date": "2026-11-22", "window_start": "09:00", "window_end": "12:00"},
        "exception": None,
        "customer": {"contact_ref": f"cust-{shipment_id}", "channels": ["email"], "timezone": "Europe/Berlin"},
        "correction_of": None,
    }
    if status == "EXCEPTION":
        payload["exception"] = {"reason": "address incomplete", "responsible_party": "customer",
                                "action_required": "confirm address"}
    payload.update(fields)
    return payload


def warehouse_event(event_type: str = "received", warehouse_id: str = "w1", at: str = "2026-11-20T08:00:00+01:00",
                    merchant_id: str = "m1", items: list[dict[str, Any]] | None = None,
                    **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event_id": fields.pop("event_id", f"w{next(_ids)}"),
        "schema_version": 1,
        "event_type": event_type,
        "merchant_id": merchant_id,
        "warehouse_id": warehouse_id,
        "zone": "A",
        "bin": "A-01",
        "occurred_at": at,
        "items": items if items is not None else [{"sku": "SKU-1", "qty": 5}],
        "actor": "scanner-7",
        "location": {"city": "Leipzig", "country": "DE"},
    }
    payload.update(fields)
    return payload


def record(payload: Any, offset: int, topic: str = "shipment-events", partition: int = 0,
           raw: bytes | None = None) -> InboundRecord:
    value = raw if raw is not None else json.dumps(payload).encode()
    return InboundRecord(id=(f"{topic}-{partition}", offset), source=f"{topic}-{partition}@{offset}", value=value,
                         key=b"k", timestamp_ms=1_700_000_000_000 + offset)
