"""folding.plan (skip, fold forward, re-fold) and the incremental-fold contract it relies on."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from domain_builders import correction, ev, wev
from hypothesis import given, settings
from hypothesis import strategies as st

from logistics.domain import shipment, warehouse
from logistics.domain.folding import RECENT_IDS, Plan, plan, remember, unique_in_order
from logistics.domain.status import Status

S = Status


@dataclass(frozen=True)
class Stored:
    high_water: str
    recent_event_ids: tuple[str, ...]


def stored_after(*events) -> shipment.ShipmentState:
    return shipment.fold(list(events)).state


# --- unique_in_order / remember ---------------------------------------------------------------------


def test_unique_in_order_sorts_by_occurrence_then_id_and_drops_duplicates():
    a, b, c = ev("b", S.CREATED, 0, offset=600), ev("a", S.CREATED, 0, offset=-600), ev("c", S.CREATED, -1)
    assert [e.event_id for e in unique_in_order([a, b, c, a, c])] == ["c", "a", "b"]


def test_unique_in_order_keeps_the_earliest_copy_of_an_id():
    early, later = ev("x", S.CREATED, 0), ev("x", S.CREATED, 5)
    assert unique_in_order([later, early]) == [early]
    assert unique_in_order([early, later]) == [early]


def test_remember_is_bounded():
    recent: tuple[str, ...] = ()
    for i in range(RECENT_IDS + 3):
        recent = remember(recent, str(i))
    assert recent == tuple(str(i) for i in range(3, RECENT_IDS + 3))


# --- plan ------------------------------------------------------------------------------------------


def test_plan_without_state_folds_forward():
    b, a = ev("b", S.IN_TRANSIT, 5), ev("a", S.CREATED, 0)
    assert plan(None, [b, a, b]) == (Plan.FORWARD, [a, b])


def test_plan_with_no_events_does_nothing():
    assert plan(None, []) == (Plan.NOTHING, [])
    assert plan(stored_after(ev("a", S.CREATED, 0)), []) == (Plan.NOTHING, [])


def test_plan_skips_known_ids():
    a, b = ev("a", S.CREATED, 0), ev("b", S.PICKED_UP, 1)
    state = stored_after(a, b)
    assert plan(state, [b, a, b]) == (Plan.NOTHING, [])
    assert plan(state, [a], force_refold=True) == (Plan.NOTHING, [])  # nothing new beats force


def test_plan_forward_when_every_new_event_sorts_after_the_high_water():
    a, b = ev("a", S.CREATED, 0), ev("b", S.PICKED_UP, 1)
    c, d = ev("c", S.IN_TRANSIT, 2), ev("d", S.OUT_FOR_DELIVERY, 3)
    state = stored_after(a, b)
    assert plan(state, [d, b, c]) == (Plan.FORWARD, [c, d])


def test_plan_forward_with_equal_instant_but_larger_id():
    state = stored_after(ev("b", S.CREATED, 1))
    same_instant_later_id = ev("c", S.PICKED_UP, 1)
    same_instant_earlier_id = ev("a", S.PICKED_UP, 1)
    assert plan(state, [same_instant_later_id])[0] == Plan.FORWARD
    assert plan(state, [same_instant_earlier_id])[0] == Plan.REFOLD


def test_plan_refolds_when_any_new_event_is_older_than_the_high_water():
    a, c = ev("a", S.CREATED, 0), ev("c", S.IN_TRANSIT, 10)
    state = stored_after(a, c)
    b, d = ev("b", S.PICKED_UP, 5), ev("d", S.DELIVERED, 20)
    assert plan(state, [d, b]) == (Plan.REFOLD, [b, d])


def test_plan_high_water_counts_late_and_ignored_events():
    # c is LATE, but it was folded in, so an event between b and c can not be folded forward.
    state = stored_after(ev("a", S.CREATED, 0), ev("b", S.IN_TRANSIT, 1), ev("c", S.CREATED, 9))
    assert state.late_count == 1
    assert plan(state, [ev("x", S.OUT_FOR_DELIVERY, 5)])[0] == Plan.REFOLD
    assert plan(state, [ev("y", S.OUT_FOR_DELIVERY, 10)])[0] == Plan.FORWARD


def test_plan_force_refold():
    state = stored_after(ev("a", S.CREATED, 0))
    fix = correction("fix", "a", S.PROCESSING, 5)
    assert plan(state, [fix], force_refold=True) == (Plan.REFOLD, [fix])
    assert plan(None, [fix], force_refold=True) == (Plan.REFOLD, [fix])


def test_plan_only_remembers_a_window_of_ids():
    events = [ev(f"e{i:03d}", S.IN_TRANSIT, i) for i in range(RECENT_IDS + 1)]
    state = stored_after(*events)
    assert plan(state, events[1:]) == (Plan.NOTHING, [])
    # the oldest id fell out of the window: it looks new, and being old it forces a re-fold (still correct)
    assert plan(state, events) == (Plan.REFOLD, [events[0]])


def test_plan_works_for_warehouse_states():
    a, b = wev("a", "received", 0, (("sku-1", 5),)), wev("b", "picked", 1, (("sku-1", 1),))
    state = warehouse.fold([a, b]).state
    assert plan(state, [a, b]) == (Plan.NOTHING, [])
    assert plan(state, [wev("c", "received", 2)])[0] == Plan.FORWARD
    assert plan(state, [wev("c", "received", 0.5)])[0] == Plan.REFOLD
    assert plan(Stored("", ()), [a]) == (Plan.FORWARD, [a])  # any Folded will do
    assert plan(Stored("9999", ("zz",)), [a]) == (Plan.REFOLD, [a])


# --- the incremental contract: fold(S, fold(P)) == fold(P + S) ---------------------------------------

INCREMENTAL_STATUSES = [s for s in Status]


@st.composite
def split_history(draw):
    """A history without corrections, split where every later event sorts after the earlier part."""
    n = draw(st.integers(min_value=1, max_value=14))
    minutes = sorted(draw(st.lists(st.integers(0, 40), min_size=n, max_size=n)))
    events = []
    for i, minute in enumerate(minutes):
        status = draw(st.sampled_from(INCREMENTAL_STATUSES))
        offset = draw(st.sampled_from([0, 60, 120, -300, 330, 540, -600]))
        location = draw(st.sampled_from([None, {"country": "DE"}, {"country": "US"}]))
        events.append(ev(f"e{i:02d}", status, minute, offset=offset, location=location))
    cut = draw(st.integers(min_value=0, max_value=n))
    ordered = sorted(events, key=lambda e: e.sort_key)
    return ordered[:cut], ordered[cut:], draw(st.permutations(ordered[cut:]))


@settings(max_examples=300, deadline=None)
@given(split_history())
def test_fold_forward_equals_fold_of_everything(parts):
    prefix, suffix, suffix_shuffled = parts
    stored = shipment.fold(prefix).state
    if stored is not None and suffix:
        assert plan(stored, suffix_shuffled)[0] == Plan.FORWARD
    whole = shipment.fold(prefix + suffix)
    forward = shipment.fold(suffix_shuffled, stored)
    assert forward.state == whole.state
    assert {**shipment.fold(prefix).dispositions, **forward.dispositions} == whole.dispositions


def test_fold_forward_example_across_a_terminal():
    prefix = [ev("a", S.IN_TRANSIT, 0), ev("b", S.DELIVERED, 1)]
    suffix = [ev("c", S.IN_TRANSIT, 2), ev("d", S.DELIVERED, 3, sub_status="left at door")]
    forward = shipment.fold(suffix, shipment.fold(prefix).state)
    assert forward.state == shipment.fold(prefix + suffix).state
    assert forward.dispositions == {"c": shipment.Disposition.IGNORED, "d": shipment.Disposition.APPLIED}
    assert forward.state.sub_status == "left at door"


@pytest.mark.parametrize("cut", range(6))
def test_warehouse_fold_forward_equals_fold_of_everything(cut: int):
    events = [
        wev("a", "received", 0, (("sku-1", 10), ("sku-2", 4))),
        wev("b", "picked", 1, (("sku-1", 3),), shipment_id="s-1", zone="A"),
        wev("c", "packed", 2, shipment_id="s-1", zone="B"),
        wev("d", "cycle_counted", 3, (("sku-2", 7),)),
        wev("e", "dispatched", 4, shipment_id="s-1"),
        wev("f", "adjusted", 5, (("sku-1", -2),)),
    ]
    stored = warehouse.fold(events[:cut])
    given = {sku: q for sku, q in stored.stock.items() if sku in warehouse.stock_skus(events[cut:])}
    forward = warehouse.fold(events[cut:], stored.state, given)
    whole = warehouse.fold(events)
    assert forward.state == whole.state
    assert {**stored.stock, **forward.stock} == whole.stock
