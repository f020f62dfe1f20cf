"""Shipment state as a fold of its events: dispositions, corrections, late events, derived fields."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from domain_builders import (
    BERLIN,
    EXC_INFO,
    LYON,
    MERCHANT,
    NEW_YORK,
    SHIPMENT,
    TOKYO,
    WAREHOUSE,
    correction,
    ev,
    utc,
    wev,
)

from logistics.domain.events import shipment_view
from logistics.domain.folding import RECENT_IDS, Disposition
from logistics.domain.shipment import ShipmentState, fold, step
from logistics.domain.status import Status

S = Status
D = Disposition


def statuses(result) -> Status:
    return result.state.status


# --- the first event -------------------------------------------------------------------------------


def test_first_event_opens_the_record_with_every_field():
    first = ev(
        "e1",
        S.CREATED,
        0,
        offset=120,
        sub_status="label_requested",
        carrier="DHL",
        tracking_number="JD0001",
        order_ref="o-1",
        location=BERLIN,
        eta={"date": "2024-05-03"},
        customer={"contact_ref": "c-1", "channels": ["email"]},
    )
    result = fold([first])
    assert result.dispositions == {"e1": D.APPLIED}
    assert result.state == ShipmentState(
        merchant_id=MERCHANT,
        shipment_id=SHIPMENT,
        status=S.CREATED,
        status_event_id="e1",
        status_changed_at=utc(0),
        updated_at=utc(0),
        high_water=f"{utc(0)}#e1",
        sub_status="label_requested",
        carrier="DHL",
        tracking_number="JD0001",
        order_ref="o-1",
        location=BERLIN,
        origin=BERLIN,
        eta={"date": "2024-05-03"},
        exception=None,
        customer={"contact_ref": "c-1", "channels": ["email"]},
        warehouse_id=None,
        milestones={"CREATED": utc(0)},
        eta_leads={"CREATED": 52},  # noon (UTC: no customer time zone) of 2024-05-03, from 08:00 on 2024-05-01
        event_count=1,
        late_count=0,
        corrections=0,
        recent_event_ids=("e1",),
    )


def test_fold_of_nothing_is_nothing():
    assert fold([]).state is None
    assert fold([]).dispositions == {}


def test_step_from_none_and_onwards():
    state, disposition = step(None, ev("a", S.PICKED_UP, 0))
    assert (state.status, disposition) == (S.PICKED_UP, D.APPLIED)
    state, disposition = step(state, ev("b", S.CREATED, 1))
    assert (state.status, disposition, state.late_count) == (S.PICKED_UP, D.LATE, 1)
    state, disposition = step(state, ev("c", S.IN_TRANSIT, 2))
    assert (state.status, state.status_event_id, disposition) == (S.IN_TRANSIT, "c", D.APPLIED)


# --- forward, skips, same status -------------------------------------------------------------------


def test_forward_path_with_skips_and_milestones():
    events = [
        ev("e1", S.CREATED, 0),
        ev("e2", S.PICKED_UP, 10, offset=60),  # skips PROCESSING and READY_TO_SHIP
        ev("e3", S.IN_TRANSIT, 20, offset=-300),
        ev("e4", S.OUT_FOR_DELIVERY, 30),
        ev("e5", S.DELIVERED, 40, offset=330),
    ]
    result = fold(events)
    assert result.dispositions == {e.event_id: D.APPLIED for e in events}
    state = result.state
    assert state.status == S.DELIVERED
    assert state.status_event_id == "e5"
    assert state.status_changed_at == utc(40)
    assert state.updated_at == utc(40)
    assert state.high_water == f"{utc(40)}#e5"
    assert state.milestones == {
        "CREATED": utc(0),
        "PICKED_UP": utc(10),
        "IN_TRANSIT": utc(20),
        "OUT_FOR_DELIVERY": utc(30),
        "DELIVERED": utc(40),
    }
    assert (state.event_count, state.late_count, state.corrections) == (5, 0, 0)
    assert state.recent_event_ids == ("e1", "e2", "e3", "e4", "e5")[-RECENT_IDS:]


def test_same_status_refreshes_details_but_not_the_status_event():
    result = fold(
        [
            ev("e1", S.IN_TRANSIT, 0, sub_status="departed_facility", location=BERLIN),
            ev("e2", S.IN_TRANSIT, 30, sub_status="arrived_facility", location=LYON),
        ]
    )
    state = result.state
    assert result.dispositions == {"e1": D.APPLIED, "e2": D.APPLIED}
    assert (state.status, state.status_event_id, state.status_changed_at) == (S.IN_TRANSIT, "e1", utc(0))
    assert (state.sub_status, state.location, state.updated_at) == ("arrived_facility", LYON, utc(30))
    assert state.milestones == {"IN_TRANSIT": utc(0)}


def test_sub_status_is_replaced_even_by_none():
    state = fold([ev("a", S.IN_TRANSIT, 0, sub_status="customs_held"), ev("b", S.IN_TRANSIT, 1)]).state
    assert state.sub_status is None


def test_loops_back_are_applied():
    result = fold(
        [
            ev("a", S.OUT_FOR_DELIVERY, 0),
            ev("b", S.DELIVERY_ATTEMPTED, 1),
            ev("c", S.OUT_FOR_DELIVERY, 2),
            ev("d", S.IN_TRANSIT, 3),
        ]
    )
    assert result.dispositions == dict.fromkeys("abcd", D.APPLIED)
    assert result.state.status == S.IN_TRANSIT
    assert result.state.status_event_id == "d"
    # milestones keep the first time each status was reached
    assert result.state.milestones == {
        "OUT_FOR_DELIVERY": utc(0),
        "DELIVERY_ATTEMPTED": utc(1),
        "IN_TRANSIT": utc(3),
    }


# --- late events ------------------------------------------------------------------------------------


def test_late_event_is_kept_marked_and_changes_nothing():
    before = fold([ev("a", S.CREATED, 0), ev("b", S.OUT_FOR_DELIVERY, 10, location=LYON)]).state
    result = fold(
        [
            ev("a", S.CREATED, 0),
            ev("b", S.OUT_FOR_DELIVERY, 10, location=LYON),
            ev("c", S.PICKED_UP, 20, location=BERLIN, carrier="UPS", eta={"date": "2024-06-01"}),
        ]
    )
    assert result.dispositions == {"a": D.APPLIED, "b": D.APPLIED, "c": D.LATE}
    after = result.state
    assert after.status == S.OUT_FOR_DELIVERY
    assert after.status_event_id == "b"
    assert (after.location, after.carrier, after.eta, after.milestones) == (
        before.location,
        before.carrier,
        before.eta,
        before.milestones,
    )
    assert after.updated_at == utc(10)  # the newest *applied* event
    assert after.high_water == f"{utc(20)}#c"  # ... but the high water covers every folded event
    assert (after.event_count, after.late_count) == (3, 1)
    assert after.recent_event_ids == ("a", "b", "c")


def test_an_older_event_arriving_later_takes_its_place_in_occurrence_order():
    """Late by *arrival* is not late by occurrence: the fold re-orders and the event applies."""
    result = fold([ev("b", S.IN_TRANSIT, 10), ev("a", S.PICKED_UP, 5)])
    assert result.dispositions == {"a": D.APPLIED, "b": D.APPLIED}
    assert result.state.status == S.IN_TRANSIT
    assert result.state.milestones == {"PICKED_UP": utc(5), "IN_TRANSIT": utc(10)}


def test_late_count_counts_only_late_not_ignored():
    result = fold([ev("a", S.IN_TRANSIT, 0), ev("b", S.CREATED, 1), ev("c", S.DELIVERED, 2), ev("d", S.IN_TRANSIT, 3)])
    assert result.dispositions == {"a": D.APPLIED, "b": D.LATE, "c": D.APPLIED, "d": D.IGNORED}
    assert result.state.late_count == 1


# --- terminal states and corrections ---------------------------------------------------------------


@pytest.mark.parametrize("terminal", [S.DELIVERED, S.RETURNED, S.CANCELLED, S.LOST])
@pytest.mark.parametrize("after", [S.IN_TRANSIT, S.EXCEPTION, S.CANCELLED, S.EXPIRED, S.DELIVERED, S.LOST])
def test_events_after_a_terminal_state_are_ignored(terminal: Status, after: Status):
    result = fold([ev("t", terminal, 0), ev("x", after, 1, location=TOKYO)])
    if after == terminal:
        assert result.dispositions["x"] == D.APPLIED  # same status: refreshes details only
        assert result.state.location == TOKYO
    else:
        assert result.dispositions["x"] == D.IGNORED
        assert result.state.location is None
    assert result.state.status == terminal
    assert result.state.status_event_id == "t"
    assert result.state.late_count == 0


def test_correction_changes_a_terminal_state_and_voids_the_corrected_event():
    result = fold(
        [
            ev("a", S.IN_TRANSIT, 0, location=BERLIN),
            ev("b", S.DELIVERED, 10, location=LYON),
            ev("c", S.IN_TRANSIT, 15),  # ignored while delivered
            correction("fix", "b", S.OUT_FOR_DELIVERY, 20, sub_status="misscan"),
            ev("d", S.DELIVERED, 30),
        ]
    )
    assert result.dispositions == {
        "a": D.APPLIED,
        "b": D.VOIDED,
        "c": D.APPLIED,  # the delivery that blocked it never counted
        "fix": D.CORRECTION,
        "d": D.APPLIED,
    }
    state = result.state
    assert state.status == S.DELIVERED
    assert state.status_event_id == "d"
    assert state.milestones == {
        "IN_TRANSIT": utc(0),
        "OUT_FOR_DELIVERY": utc(20),
        "DELIVERED": utc(30),  # not 10: the voided delivery is not a milestone
    }
    assert state.location == BERLIN  # the voided event's location never applied
    assert (state.corrections, state.event_count, state.late_count) == (1, 5, 0)


def test_correction_as_the_newest_event_sets_the_status_even_on_terminal():
    result = fold([ev("a", S.DELIVERED, 0), correction("fix", "a", S.LOST, 5)])
    assert result.dispositions == {"a": D.VOIDED, "fix": D.CORRECTION}
    assert result.state.status == S.LOST
    assert result.state.status_event_id == "fix"
    assert result.state.status_changed_at == utc(5)
    assert result.state.milestones == {"LOST": utc(5)}
    assert result.state.needs_attention and result.state.attention_reason == "lost"


def test_correction_may_move_backwards_and_name_an_unknown_event():
    result = fold([ev("a", S.RETURNED, 0), correction("fix", "never-seen", S.PROCESSING, 5)])
    assert result.dispositions == {"a": D.APPLIED, "fix": D.CORRECTION}
    assert result.state.status == S.PROCESSING
    assert result.state.status_event_id == "fix"


def test_correction_to_the_same_status_points_the_status_at_the_correction():
    result = fold([ev("a", S.IN_TRANSIT, 0), ev("b", S.IN_TRANSIT, 1), correction("fix", "b", S.IN_TRANSIT, 2)])
    assert result.dispositions == {"a": D.APPLIED, "b": D.VOIDED, "fix": D.CORRECTION}
    assert result.state.status_event_id == "fix"
    assert result.state.status_changed_at == utc(0)  # the status itself did not change


def test_correction_that_occurred_before_its_target_still_voids_it():
    result = fold([correction("fix", "b", S.IN_TRANSIT, 0), ev("b", S.DELIVERED, 10)])
    assert result.dispositions == {"fix": D.CORRECTION, "b": D.VOIDED}
    assert result.state.status == S.IN_TRANSIT
    assert result.state.high_water == f"{utc(10)}#b"
    assert result.state.event_count == 2


def test_voided_first_event_changes_nothing():
    """A voided event opens nothing: the record starts with the first event that counts."""
    with_voided = fold(
        [
            ev("a", S.DELIVERED, 0, location=TOKYO, carrier="WRONG"),
            ev("b", S.IN_TRANSIT, 1, location=BERLIN),
            correction("fix", "a", S.OUT_FOR_DELIVERY, 2),
        ]
    )
    without = fold([ev("b", S.IN_TRANSIT, 1, location=BERLIN), correction("fix", "a", S.OUT_FOR_DELIVERY, 2)])
    assert with_voided.dispositions == {"a": D.VOIDED, "b": D.APPLIED, "fix": D.CORRECTION}
    state = with_voided.state
    assert state.status == S.OUT_FOR_DELIVERY
    assert state.milestones == {"IN_TRANSIT": utc(1), "OUT_FOR_DELIVERY": utc(2)}
    assert (state.origin, state.location, state.carrier) == (BERLIN, BERLIN, None)
    # only the counters know about the voided event
    assert (state.event_count, state.corrections) == (3, 1)
    assert state.recent_event_ids == ("a", "b", "fix")
    assert state.high_water == f"{utc(2)}#fix"
    assert replace(state, event_count=2, recent_event_ids=("b", "fix")) == without.state


def test_several_voided_events_before_the_first_that_counts():
    result = fold(
        [
            ev("a", S.LOST, 0),
            ev("b", S.DELIVERED, 1),
            correction("fix-a", "a", S.CREATED, 2),
            correction("fix-b", "b", S.PICKED_UP, 3),
        ]
    )
    assert result.dispositions == {"a": D.VOIDED, "b": D.VOIDED, "fix-a": D.CORRECTION, "fix-b": D.CORRECTION}
    assert result.state.status == S.PICKED_UP
    assert result.state.milestones == {"CREATED": utc(2), "PICKED_UP": utc(3)}
    assert (result.state.event_count, result.state.corrections) == (4, 2)
    assert result.state.recent_event_ids == ("a", "b", "fix-a", "fix-b")


def test_when_every_event_is_voided_the_first_still_opens_the_record():
    # Two corrections that void each other: nothing counts, but a record must exist.
    result = fold([correction("x", "y", S.IN_TRANSIT, 0), correction("y", "x", S.DELIVERED, 1)])
    assert result.dispositions == {"x": D.VOIDED, "y": D.VOIDED}
    assert result.state.status == S.IN_TRANSIT
    assert (result.state.event_count, result.state.corrections) == (2, 2)


def test_voided_event_in_the_middle_is_only_counted():
    result = fold(
        [ev("a", S.IN_TRANSIT, 0), ev("b", S.OUT_FOR_DELIVERY, 1, location=LYON), correction("c", "b", S.IN_TRANSIT, 2)]
    )
    assert result.dispositions == {"a": D.APPLIED, "b": D.VOIDED, "c": D.CORRECTION}
    assert result.state.location is None
    assert "OUT_FOR_DELIVERY" not in result.state.milestones


# --- exception info ---------------------------------------------------------------------------------


def test_exception_info_is_set_and_cleared():
    other = {"reason": "customs hold", "responsible_party": "customs", "action_required": None}
    events = [
        ev("a", S.IN_TRANSIT, 0),
        ev("b", S.EXCEPTION, 1),
        ev("c", S.EXCEPTION, 2, exception=other),
        ev("d", S.PICKED_UP, 3, exception={"reason": "ignored on a non-exception status"}),
    ]
    assert fold(events[:2]).state.exception == EXC_INFO
    assert fold(events[:2]).state.attention_reason == "address unknown"
    third = fold(events[:3]).state
    assert (third.exception, third.status_event_id, third.attention_reason) == (other, "b", "customs hold")
    last = fold(events).state
    assert last.status == S.PICKED_UP  # exception -> any non-terminal, even backwards
    assert last.exception is None
    assert not last.needs_attention and last.attention_reason is None


def test_first_event_exception_keeps_its_info_and_others_drop_it():
    assert fold([ev("a", S.EXCEPTION, 0)]).state.exception == EXC_INFO
    assert fold([ev("a", S.IN_TRANSIT, 0, exception=EXC_INFO)]).state.exception is None


def test_exception_without_reason_still_needs_attention():
    state = fold([ev("a", S.EXCEPTION, 0, exception=None)]).state
    assert state.needs_attention
    assert state.attention_reason == "exception"


def test_exception_to_terminal_and_expired_reopened():
    assert statuses(fold([ev("a", S.EXCEPTION, 0), ev("b", S.DELIVERED, 1)])) == S.DELIVERED
    result = fold([ev("a", S.IN_TRANSIT, 0), ev("b", S.EXPIRED, 1), ev("c", S.CREATED, 2)])
    assert result.dispositions == dict.fromkeys("abc", D.APPLIED)
    assert result.state.status == S.CREATED


@pytest.mark.parametrize(
    ("status", "attention", "reason"),
    [
        (S.EXCEPTION, True, "address unknown"),
        (S.DELIVERY_ATTEMPTED, True, "delivery attempted"),
        (S.LOST, True, "lost"),
        (S.IN_TRANSIT, False, None),
        (S.DELIVERED, False, None),
        (S.EXPIRED, False, None),
        (S.AVAILABLE_FOR_PICKUP, False, None),
    ],
)
def test_needs_attention(status: Status, attention: bool, reason: str | None):
    state = fold([ev("a", status, 0)]).state
    assert state.needs_attention is attention
    assert state.attention_reason == reason


# --- location, origin, eta and the other carried fields ----------------------------------------------


def test_location_origin_and_geo():
    events = [
        ev("a", S.CREATED, 0),  # no location yet
        ev("b", S.PICKED_UP, 1, location=BERLIN),
        ev("c", S.IN_TRANSIT, 2, location={"city": "Newark", "country": "us"}),
        ev("d", S.IN_TRANSIT, 3),  # no location: keeps the last one
    ]
    assert fold(events[:1]).state.geo is None
    assert fold(events[:2]).state.origin == BERLIN
    assert fold(events[:2]).state.geo == "EU"
    state = fold(events).state
    assert state.origin == BERLIN
    assert state.location == {"city": "Newark", "country": "us"}
    assert state.geo == "NA"  # country codes are matched case-insensitively


@pytest.mark.parametrize(
    ("location", "geo"),
    [
        (BERLIN, "EU"),
        (LYON, "EU"),
        (NEW_YORK, "NA"),
        (TOKYO, "APAC"),
        ({"country": "BR"}, "LATAM"),
        ({"country": "ZA"}, "MEA"),
        ({"country": "AQ"}, "OTHER"),
        ({"city": "nowhere"}, None),
        (None, None),
    ],
)
def test_geo_of_the_current_location(location, geo):
    assert fold([ev("a", S.IN_TRANSIT, 0, location=location)]).state.geo == geo


def test_carried_fields_keep_the_last_value_given():
    events = [
        ev(
            "a",
            S.CREATED,
            0,
            carrier="DHL",
            tracking_number="T1",
            order_ref="o-1",
            eta={"date": "2024-05-03", "window_start": "09:00", "window_end": "12:00"},
            customer={"contact_ref": "c-1"},
        ),
        ev("b", S.PICKED_UP, 1),
        ev("c", S.IN_TRANSIT, 2, carrier="UPS", eta={"date": "2024-05-04"}),
    ]
    after_b = fold(events[:2]).state
    assert (after_b.carrier, after_b.tracking_number, after_b.order_ref) == ("DHL", "T1", "o-1")
    assert after_b.eta == {"date": "2024-05-03", "window_start": "09:00", "window_end": "12:00"}
    assert after_b.customer == {"contact_ref": "c-1"}
    last = fold(events).state
    assert (last.carrier, last.tracking_number, last.eta) == ("UPS", "T1", {"date": "2024-05-04"})


# --- warehouse-derived events ----------------------------------------------------------------------


def test_warehouse_events_join_the_shipment_timeline():
    picked = shipment_view(wev("w1", "picked", 1, shipment_id=SHIPMENT, location=BERLIN))
    staged = shipment_view(wev("w2", "staged", 2, shipment_id=SHIPMENT))
    result = fold([ev("a", S.CREATED, 0), picked, staged])
    assert result.dispositions == {"a": D.APPLIED, "w1": D.APPLIED, "w2": D.APPLIED}
    state = result.state
    assert (state.status, state.sub_status, state.warehouse_id) == (S.READY_TO_SHIP, "staged", WAREHOUSE)
    assert state.location == BERLIN and state.origin == BERLIN
    # a carrier event takes the parcel out of the warehouse
    state = fold([ev("a", S.CREATED, 0), picked, staged, ev("p", S.PICKED_UP, 3)]).state
    assert (state.status, state.warehouse_id) == (S.PICKED_UP, None)


def test_warehouse_event_after_the_carrier_took_over_is_late():
    packed = shipment_view(wev("w1", "packed", 5, shipment_id=SHIPMENT))
    result = fold([ev("a", S.IN_TRANSIT, 0), packed])
    assert result.dispositions["w1"] == D.LATE
    assert result.state.warehouse_id is None


def test_return_received_closes_a_returning_shipment():
    back = shipment_view(wev("w9", "return_received", 9, shipment_id=SHIPMENT))
    result = fold([ev("a", S.RETURNING, 0), back])
    assert (result.state.status, result.state.warehouse_id) == (S.RETURNED, WAREHOUSE)
    assert result.state.milestones["RETURNED"] == utc(9)


# --- order and duplicates ---------------------------------------------------------------------------


def test_fold_is_independent_of_input_order_and_duplicates():
    events = [
        ev("a", S.CREATED, 0, offset=120),
        ev("b", S.PICKED_UP, 5, offset=-300),
        ev("c", S.PROCESSING, 6),  # late
        ev("d", S.EXCEPTION, 7, offset=60),
        ev("e", S.IN_TRANSIT, 7, offset=-60),  # same instant as d: d sorts first
        ev("f", S.DELIVERED, 9),
        ev("g", S.IN_TRANSIT, 10),  # ignored
    ]
    expected = fold(events)
    assert expected.dispositions == {
        "a": D.APPLIED,
        "b": D.APPLIED,
        "c": D.LATE,
        "d": D.APPLIED,
        "e": D.APPLIED,
        "f": D.APPLIED,
        "g": D.IGNORED,
    }
    rng = random.Random(7)
    for _ in range(50):
        shuffled = events + rng.sample(events, 3)
        rng.shuffle(shuffled)
        assert fold(shuffled) == expected


def test_recent_event_ids_are_bounded_and_in_fold_order():
    events = [ev(f"e{i:03d}", S.IN_TRANSIT, i) for i in range(RECENT_IDS + 8)]
    state = fold(reversed(events)).state
    assert state.recent_event_ids == tuple(e.event_id for e in events[-RECENT_IDS:])
    assert state.event_count == RECENT_IDS + 8
