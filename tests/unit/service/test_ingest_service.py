"""The ingest service against in-memory ports: folding per entity, poison, failures, conflicts."""

from __future__ import annotations

import pytest

from logistics.domain.folding import Disposition
from logistics.domain.status import Status
from logistics.service.ingest import InboundRecord, Ingestor
from tests.factories import record, shipment_event, warehouse_event
from tests.fakes.memory import MemoryDeadLetters, MemoryStore, MemoryTimeline


@pytest.fixture
def parts():
    return MemoryStore(), MemoryTimeline(), MemoryDeadLetters()


def make(parts, **kw) -> Ingestor:
    store, timeline, letters = parts
    return Ingestor(store, timeline, letters, **kw)


def test_one_state_write_per_shipment_per_batch(parts):
    store, timeline, _ = parts
    events = [
        shipment_event("s1", "PICKED_UP", "2026-11-20T08:00:00+01:00"),
        shipment_event("s1", "IN_TRANSIT", "2026-11-20T09:00:00+01:00"),
        shipment_event("s1", "OUT_FOR_DELIVERY", "2026-11-21T07:00:00+01:00"),
        shipment_event("s2", "PICKED_UP", "2026-11-20T08:00:00+01:00"),
    ]
    result = make(parts).ingest([record(e, i) for i, e in enumerate(events)])
    assert result.failed == []
    assert store.save_calls == [2]  # one call, one write per shipment
    assert store.shipments[("m1", "s1")].state.status == Status.OUT_FOR_DELIVERY
    assert store.shipments[("m1", "s2")].state.status == Status.PICKED_UP
    assert [e.event.event_id for e in timeline.of("m1#S#s1")] == [e["event_id"] for e in events[:3]]


def test_late_event_kept_and_marked_without_moving_state(parts):
    store, timeline, _ = parts
    ingest = make(parts)
    ingest.ingest([record(shipment_event("s1", "OUT_FOR_DELIVERY", "2026-11-21T07:00:00+01:00"), 0)])
    late = shipment_event("s1", "PICKED_UP", "2026-11-21T08:00:00+01:00")
    ingest.ingest([record(late, 1)])
    state = store.shipments[("m1", "s1")].state
    assert state.status == Status.OUT_FOR_DELIVERY
    assert state.late_count == 1
    entry = next(e for e in timeline.of("m1#S#s1") if e.event.event_id == late["event_id"])
    assert entry.disposition == Disposition.LATE


def test_out_of_order_arrival_refolds_from_history(parts):
    store, timeline, _ = parts
    ingest = make(parts)
    ingest.ingest([record(shipment_event("s1", "OUT_FOR_DELIVERY", "2026-11-21T07:00:00+01:00"), 0)])
    # Arrives later but happened earlier: it fits into the history, it is not a backwards move.
    ingest.ingest([record(shipment_event("s1", "IN_TRANSIT", "2026-11-20T07:00:00+01:00"), 1)])
    state = store.shipments[("m1", "s1")].state
    assert state.status == Status.OUT_FOR_DELIVERY
    assert state.event_count == 2 and state.late_count == 0
    assert state.milestones["IN_TRANSIT"] < state.milestones["OUT_FOR_DELIVERY"]
    assert [e.disposition for e in timeline.of("m1#S#s1")] == [Disposition.APPLIED, Disposition.APPLIED]


def test_duplicates_change_nothing(parts):
    store, _, _ = parts
    ingest = make(parts)
    event = shipment_event("s1", "IN_TRANSIT")
    ingest.ingest([record(event, 0), record(event, 1)])
    version = store.shipments[("m1", "s1")].version
    result = ingest.ingest([record(event, 2)])
    assert result.failed == []
    assert store.shipments[("m1", "s1")].version == version
    assert store.shipments[("m1", "s1")].state.event_count == 1


def test_poison_records_are_dead_lettered_and_valid_ones_land(parts):
    store, _, letters = parts
    good = shipment_event("s1", "PICKED_UP")
    records = [
        record(good, 0),
        record(None, 1, raw=b"\xff\xfe not json"),
        record({"event_type": "teleported", "merchant_id": "m1"}, 2),
        record(shipment_event("s2", "FLYING"), 3),
        record(None, 4, raw=b"x" * 70_000),
        InboundRecord(id=("shipment-events-0", 5), source="shipment-events-0@5", value=None,
                      decode_error="record is not valid base64"),
        record(shipment_event("s3", "DELIVERED"), 6),
    ]
    result = make(parts).ingest(records)
    assert result.failed == []
    assert set(store.shipments) == {("m1", "s1"), ("m1", "s3")}
    reasons = {letter.source: letter.reason for letter in letters.letters}
    assert set(reasons) == {f"shipment-events-0@{i}" for i in (1, 2, 3, 4, 5)}
    assert "not JSON" in reasons["shipment-events-0@1"]
    assert "unknown event_type 'teleported'" in reasons["shipment-events-0@2"]
    assert "status" in reasons["shipment-events-0@3"] and "FLYING" in reasons["shipment-events-0@3"]
    assert "above the 65536-byte limit" in reasons["shipment-events-0@4"]
    assert "base64" in reasons["shipment-events-0@5"]
    bad = next(letter for letter in letters.letters if letter.source.endswith("@1"))
    assert bad.value == b"\xff\xfe not json"  # the original bytes, untouched
    assert [letter.source for letter in letters.letters if letter.oversized] == ["shipment-events-0@4"]
    assert next(letter for letter in letters.letters if letter.source.endswith("@3")).merchant_id == "m1"


def test_unstorable_dead_letter_is_retried_not_lost(parts):
    _, _, letters = parts
    letters.broken = True
    result = make(parts).ingest([record(shipment_event("s1"), 0), record(None, 1, raw=b"nope")])
    assert result.failed == [("shipment-events-0", 1)]


def test_store_failure_names_exactly_that_entitys_records(parts):
    store, _, _ = parts
    store.fail_keys.add(("m1", "s2"))
    records = [record(shipment_event("s1"), 0), record(shipment_event("s2"), 1), record(shipment_event("s2"), 2),
               record(shipment_event("s3"), 3)]
    result = make(parts).ingest(records)
    assert result.failed == [("shipment-events-0", 1), ("shipment-events-0", 2)]
    assert set(store.shipments) == {("m1", "s1"), ("m1", "s3")}


def test_write_conflict_is_retried(parts):
    store, _, _ = parts
    store.conflicts_left = 2
    result = make(parts).ingest([record(shipment_event("s1"), 0)])
    assert result.failed == []
    assert ("m1", "s1") in store.shipments


def test_warehouse_event_lands_on_warehouse_and_shipment_timelines(parts):
    store, timeline, _ = parts
    ingest = make(parts)
    ingest.ingest([
        record(warehouse_event("received", items=[{"sku": "SKU-1", "qty": 10}]), 0, topic="warehouse-events"),
        record(warehouse_event("picked", at="2026-11-20T09:00:00+01:00", shipment_id="s9",
                               items=[{"sku": "SKU-1", "qty": 3}]), 1, topic="warehouse-events"),
    ])
    warehouse = store.warehouses[("m1", "w1")].state
    assert store.stock[("m1", "w1")] == {"SKU-1": 7} and (warehouse.skus, warehouse.units) == (1, 7)
    assert set(warehouse.on_hand) == {"s9"}
    assert store.shipments[("m1", "s9")].state.status == Status.PROCESSING
    assert store.shipments[("m1", "s9")].state.warehouse_id == "w1"
    assert len(timeline.of("m1#W#w1")) == 2 and len(timeline.of("m1#S#s9")) == 1


def test_correction_changes_terminal_state(parts):
    store, timeline, _ = parts
    ingest = make(parts)
    wrong = shipment_event("s1", "DELIVERED", "2026-11-21T10:00:00+01:00")
    ingest.ingest([record(shipment_event("s1", "OUT_FOR_DELIVERY", "2026-11-21T07:00:00+01:00"), 0),
                   record(wrong, 1)])
    assert store.shipments[("m1", "s1")].state.status == Status.DELIVERED
    fix = shipment_event("s1", "OUT_FOR_DELIVERY", "2026-11-21T11:00:00+01:00", event_type="correction",
                         correction_of=wrong["event_id"])
    ingest.ingest([record(fix, 2)])
    assert store.shipments[("m1", "s1")].state.status == Status.OUT_FOR_DELIVERY
    dispositions = {e.event.event_id: e.disposition for e in timeline.of("m1#S#s1")}
    assert dispositions[wrong["event_id"]] == Disposition.VOIDED
    assert dispositions[fix["event_id"]] == Disposition.CORRECTION


# -- issue 10: nothing a producer sends stalls the batch ------------------------------------------------
@pytest.mark.parametrize("raw,reason", [
    (b'{"lat": NaN}', "NaN is not a number"),
    (b"1" * 5000, "more than 38 digits"),  # was Python's ValueError (4,300-digit limit): the batch raised
    (b"[" * 60_000, "nested more than 32 levels"),  # was RecursionError: the batch raised
    (b'["\\ud800"]', "lone surrogate"),
])
def test_inputs_that_used_to_raise_are_dead_lettered(parts, raw, reason):
    _, _, letters = parts
    good = shipment_event("s1", merchant_id="m7")
    result = make(parts).ingest([record(None, 0, raw=raw), record(good, 1)])
    assert result.failed == [] and result.stored_events == 1
    assert reason in letters.letters[0].reason


def test_an_offset_past_year_9999_is_poison_not_an_overflow(parts):
    _, _, letters = parts
    bad = shipment_event("s1", at="9999-12-31T23:59:00-00:01")  # was OverflowError: the batch raised
    result = make(parts).ingest([record(bad, 0), record(shipment_event("s2"), 1)])
    assert result.failed == [] and result.stored_events == 1
    assert letters.letters[0].reason.startswith("occurred_at: ")


def test_a_payload_merchant_that_is_no_id_is_not_used_as_a_key(parts):
    _, _, letters = parts
    make(parts).ingest([record({"merchant_id": "a#b", "event_id": "", "event_type": "x"}, 0)])
    assert letters.letters[0].merchant_id is None and letters.letters[0].event_id is None


def test_a_state_the_store_cannot_hold_dead_letters_its_records_only(parts):
    from logistics.domain.ports import Unstorable

    _, _, letters = parts

    class Refusing(MemoryStore):
        def save(self, writes):
            errors = super().save([w for w in writes if w[0].shipment_id != "big"])
            kept = [i for i, w in enumerate(writes) if w[0].shipment_id != "big"]
            result = {kept[i]: e for i, e in errors.items()}
            result.update({i: Unstorable("Item size has exceeded the maximum allowed size")
                           for i, w in enumerate(writes) if w[0].shipment_id == "big"})
            return result

    refusing = Refusing()
    ingestor = Ingestor(refusing, MemoryTimeline(), letters)
    result = ingestor.ingest([record(shipment_event("big", merchant_id="m5"), 0),
                              record(shipment_event("small", merchant_id="m5"), 1)])
    assert result.failed == []  # never retried forever
    assert ("m5", "small") in refusing.shipments and ("m5", "big") not in refusing.shipments
    [letter] = letters.letters
    assert letter.source == "shipment-events-0@0" and letter.merchant_id == "m5"
    assert letter.reason.startswith("state of m5#S#big cannot be stored: Item size")
