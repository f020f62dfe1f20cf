"""The index key attributes are stored data: these pin their exact values."""

from __future__ import annotations

from dataclasses import replace

from logistics.adapters import index_keys
from logistics.adapters.codec import shipment_item
from logistics.domain.folding import RECENT_IDS
from logistics.domain.shipment import ShipmentState
from logistics.domain.status import Status

STATE = ShipmentState(
    merchant_id="m-1", shipment_id="s-1", status=Status.EXCEPTION, status_event_id="e-1",
    status_changed_at="2026-11-20T10:00:00.000Z", updated_at="2026-11-20T10:00:00.000Z", high_water="h",
    carrier="DHL", tracking_number="TN#1", order_ref="O-1", warehouse_id="w-1", location={"country": "DE"},
    milestones={"CREATED": "2026-11-18T09:00:00.000Z", "EXCEPTION": "2026-11-20T10:00:00.000Z"},
)
ALL_INDEXES = (index_keys.BY_INGESTED, index_keys.BY_STATUS, index_keys.BY_ATTENTION, index_keys.BY_GEO,
               index_keys.BY_CARRIER, index_keys.BY_WAREHOUSE, index_keys.BY_TRACKING, index_keys.BY_ORDER,
               index_keys.BY_TOKEN)
INDEX_ATTRS = ("status_key", "created_key", "merchant_status", "merchant_geo", "merchant_carrier", "merchant_warehouse",
               "merchant_tracking", "merchant_order", "attention_merchant")


def test_a_shipment_item_carries_every_index_key() -> None:
    item = shipment_item(STATE)
    assert {a: item[a] for a in INDEX_ATTRS} == {
        "status_key": "2026-11-20T10:00:00.000Z#s-1",  # when the current status began
        "created_key": "2026-11-18T09:00:00.000Z#s-1",  # when the first event occurred
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
    assert index_keys.status_key(STATE) == item[index_keys.BY_STATUS.range_attr or ""]
    assert index_keys.status_key(STATE) == item[index_keys.BY_ATTENTION.range_attr or ""]
    for index in (index_keys.BY_GEO, index_keys.BY_CARRIER, index_keys.BY_WAREHOUSE):
        assert index_keys.created_key(STATE) == item[index.range_attr or ""]
    assert index_keys.ingested_key("2026-11-20T10:00:01.123Z", "s-1") == "2026-11-20T10:00:01.123Z#s-1"


def test_derived_values_are_not_stored() -> None:
    item = shipment_item(STATE)
    assert "updated_key" not in item and "ingested_at" not in item
    assert len(STATE.recent_event_ids) <= RECENT_IDS


def test_only_by_ingested_moves_on_a_write_that_changes_no_status_or_partition() -> None:
    """An update that changes no attribute an index holds writes nothing to that (KEYS_ONLY) index."""
    moved = replace(STATE, updated_at="2026-11-20T11:00:00.000Z", high_water="h2", event_count=2,
                    location={"country": "FR", "city": "Lyon"}, sub_status="customs")
    before, after = shipment_item(STATE), shipment_item(moved)
    index_attrs = {a for i in ALL_INDEXES for a in (i.hash_attr, i.range_attr) if a and a != "merchant_id"}
    assert {a for a in index_attrs if before.get(a) != after.get(a)} == set()


def test_a_status_change_moves_only_by_status_and_by_attention() -> None:
    delivered = replace(STATE, status=Status.DELIVERED, status_changed_at="2026-11-21T10:00:00.000Z",
                        updated_at="2026-11-21T10:00:00.000Z")
    before, after = shipment_item(STATE), shipment_item(delivered)
    index_attrs = {a for i in ALL_INDEXES for a in (i.hash_attr, i.range_attr) if a and a != "merchant_id"}
    assert {a for a in index_attrs if before.get(a) != after.get(a)} == {
        "merchant_status", "status_key", "attention_merchant"}
    assert after["status_key"] == "2026-11-21T10:00:00.000Z#s-1"
