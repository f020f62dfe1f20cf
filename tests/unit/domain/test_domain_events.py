"""Domain events: UTC normalisation, the fold order, and the shipment face of warehouse events."""

from __future__ import annotations

import pytest
from domain_builders import BERLIN, MERCHANT, WAREHOUSE, ev, wev

from logistics.domain.events import WAREHOUSE_TO_SHIPMENT_STATUS, ShipmentEvent, shipment_view, to_utc
from logistics.domain.status import Status


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2024-05-01T10:00:00+02:00", "2024-05-01T08:00:00.000Z"),
        ("2024-05-01T10:00+02:00", "2024-05-01T08:00:00.000Z"),
        ("2024-05-01T08:00:00Z", "2024-05-01T08:00:00.000Z"),
        ("2024-05-01T03:30:00.5-05:00", "2024-05-01T08:30:00.500Z"),
        ("2024-05-01T13:45:00.123456789+05:45", "2024-05-01T08:00:00.123Z"),  # Nepal, nanoseconds cut
        ("2024-05-01T01:00:00+14:00", "2024-04-30T11:00:00.000Z"),  # crosses the date line backwards
        ("2024-04-30T23:30:00-09:30", "2024-05-01T09:00:00.000Z"),
        ("2024-12-31T23:59:59.999-01:00", "2025-01-01T00:59:59.999Z"),
    ],
)
def test_to_utc_normalises_to_fixed_width_utc(given: str, expected: str):
    assert to_utc(given) == expected
    assert len(to_utc(given)) == len("2024-05-01T08:00:00.000Z")


@pytest.mark.parametrize("naive", ["2024-05-01T10:00:00", "2024-05-01T10:00"])
def test_to_utc_refuses_a_timestamp_without_offset(naive: str):
    with pytest.raises(ValueError, match="no UTC offset"):
        to_utc(naive)


def test_sort_key_orders_by_utc_instant_not_by_local_text():
    tokyo = ev("z-early", Status.IN_TRANSIT, 0, offset=540)  # 17:00 local, 08:00 UTC
    ny = ev("a-late", Status.IN_TRANSIT, 1, offset=-240)  # 04:01 local, 08:01 UTC
    assert tokyo.occurred_at > ny.occurred_at  # as text the Tokyo one looks later ...
    assert tokyo.sort_key < ny.sort_key  # ... but it happened first
    assert tokyo.sort_key == "2024-05-01T08:00:00.000Z#z-early"


def test_equal_instants_are_ordered_by_event_id():
    a = ev("a", Status.IN_TRANSIT, 5, offset=60)
    b = ev("b", Status.PICKED_UP, 5, offset=-300)
    assert a.occurred_utc == b.occurred_utc
    assert a.sort_key < b.sort_key


def test_is_correction_follows_event_type():
    assert ev("c", Status.DELIVERED, 0, event_type="correction", correction_of="x").is_correction
    assert not ev("u", Status.DELIVERED, 0).is_correction


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("picked", Status.PROCESSING),
        ("packed", Status.PROCESSING),
        ("staged", Status.READY_TO_SHIP),
        ("loaded", Status.READY_TO_SHIP),
        ("dispatched", Status.READY_TO_SHIP),
        ("return_received", Status.RETURNED),
    ],
)
def test_shipment_view_of_handling_events(event_type: str, status: Status):
    event = wev("w-ev-1", event_type, 3, offset=120, shipment_id="s-9", order_ref="o-9", location=BERLIN)
    view = shipment_view(event)
    assert view == ShipmentEvent(
        event_id="w-ev-1",
        merchant_id=MERCHANT,
        shipment_id="s-9",
        status=status,
        occurred_at=event.occurred_at,
        event_type="warehouse_" + event_type,
        sub_status=event_type,
        order_ref="o-9",
        location=BERLIN,
        warehouse_id=WAREHOUSE,
        source_event_type=event_type,
    )
    assert view.sort_key == event.sort_key  # same place on the shipment timeline as on the warehouse one
    assert not view.is_correction


@pytest.mark.parametrize("event_type", ["received", "putaway", "adjusted", "cycle_counted"])
def test_stock_only_events_have_no_shipment_view(event_type: str):
    assert shipment_view(wev("w", event_type, 0, shipment_id="s-1")) is None


def test_handling_event_without_shipment_has_no_view():
    assert shipment_view(wev("w", "picked", 0)) is None


def test_mapping_covers_exactly_the_handling_events():
    assert set(WAREHOUSE_TO_SHIPMENT_STATUS) == {
        "picked",
        "packed",
        "staged",
        "loaded",
        "dispatched",
        "return_received",
    }
