"""The index key attributes are stored data: these pin their exact values."""

from __future__ import annotations

from dataclasses import replace

from logistics.adapters import index_keys
from logistics.adapters.codec import shipment_item
from logistics.domain.shipment import ShipmentState
from logistics.domain.status import Status

STATE = ShipmentState(
    merchant_id="m-1", shipment_id="s-1", status=Status.EXCEPTION, status_event_id="e-1",
    status_changed_at="2026-11-20T10:00:00.000Z", updated_at="2026-11-20T10:00:00.000Z", high_water="h",
    carrier="DHL", tracking_number="TN#1", order_ref="O-1", warehouse_id="w-1", location={"country": "DE"},
)
INDEX_ATTRS = ("updated_key", "merchant_status", "merchant_geo", "merchant_carrier", "merchant_warehouse",
               "merchant_tracking", "merchant_order", "attention_merchant")


def test_a_shipment_item_carries_every_index_key() -> None:
    item = shipment_item(STATE)
    assert {a: item[a] for a in INDEX_ATTRS} == {
        "updated_key": "2026-11-20T10:00:00.000Z#s-1",
        "merchant_status": "m-1#EXCEPTION",
        "merchant_geo": "m-1#EU",
        "merchant_carrier": "m-1#DHL",
        "merchant_warehouse": "m-1#w-1",
        "merchant_tracking": "m-1#TN#1",
        "merchant_order": "m-1#O-1",
        "attention_merchant": "m-1",
    }


def test_absent_values_leave_the_item_out_of_their_index() -> None:
    bare = replace(STATE, status=Status.IN_TRANSIT, carrier=None, tracking_number=None, order_ref=None,
                   warehouse_id=None, location=None)
    item = shipment_item(bare)
    assert item["merchant_status"] == "m-1#IN_TRANSIT"
    for attr in ("merchant_geo", "merchant_carrier", "merchant_warehouse", "merchant_tracking", "merchant_order",
                 "attention_merchant"):
        assert item[attr] is None, attr  # to_attributes drops None: the sparse indexes skip the item


def test_readers_build_the_same_values() -> None:
    item = shipment_item(STATE)
    assert index_keys.scoped("m-1", "EXCEPTION") == item[index_keys.BY_STATUS.hash_attr]
    assert index_keys.attention_key("m-1") == item[index_keys.BY_ATTENTION.hash_attr]
    assert index_keys.updated_key(STATE.updated_at, "s-1") == item[index_keys.BY_UPDATED.range_attr or ""]
    assert index_keys.ingested_key("2026-11-20T10:00:01.123Z", "s-1") == "2026-11-20T10:00:01.123Z#s-1"
