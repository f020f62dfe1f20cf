"""Warehouse state (shipments on hand, stock counters) and stock per SKU, folded in occurrence order."""

from __future__ import annotations

import random

import pytest
from domain_builders import BERLIN, LYON, MERCHANT, WAREHOUSE, utc, wev

from logistics.domain.folding import Disposition
from logistics.domain.warehouse import WarehouseState, changed_stock, fold, step, stock_skus


def test_first_movement_opens_the_warehouse():
    result = fold([wev("a", "received", 0, (("sku-1", 10),), offset=120, location=BERLIN)])
    assert result.dispositions == {"a": Disposition.APPLIED}
    assert result.state == WarehouseState(
        merchant_id=MERCHANT,
        warehouse_id=WAREHOUSE,
        updated_at=utc(0),
        high_water=f"{utc(0)}#a",
        on_hand={},
        location=BERLIN,
        event_count=1,
        recent_event_ids=("a",),
        skus=1,
        units=10,
    )
    assert result.stock == {"sku-1": 10}


@pytest.mark.parametrize(
    ("event_type", "qty", "expected"),
    [
        ("received", 5, 15),
        ("return_received", 2, 12),
        ("adjusted", -3, 7),  # a signed delta
        ("adjusted", 4, 14),
        ("picked", 4, 6),
        ("cycle_counted", 3, 3),  # absolute
        ("cycle_counted", 0, 0),
        ("putaway", 99, 10),  # moves inside the building do not change stock
        ("packed", 99, 10),
        ("staged", 99, 10),
        ("loaded", 99, 10),
        ("dispatched", 99, 10),
    ],
)
def test_stock_effect_of_each_movement(event_type: str, qty: int, expected: int):
    result = fold([wev("a", "received", 0, (("sku-1", 10),)), wev("b", event_type, 1, (("sku-1", qty),))])
    assert result.stock == {"sku-1": expected}
    assert (result.state.skus, result.state.units) == (1, expected)


def test_stock_of_a_new_sku_starts_at_zero_and_may_go_negative():
    result = fold([wev("a", "picked", 0, (("sku-9", 2),)), wev("b", "received", 1, (("sku-8", 1),))])
    assert result.stock == {"sku-9": -2, "sku-8": 1}
    assert (result.state.skus, result.state.units) == (2, -1)


def test_cycle_count_resets_what_came_before_only_in_occurrence_order():
    events = [
        wev("a", "received", 0, (("sku-1", 10),)),
        wev("b", "cycle_counted", 5, (("sku-1", 7),)),
        wev("c", "picked", 6, (("sku-1", 2),)),
        wev("d", "received", 3, (("sku-1", 100),)),  # arrives last but happened before the count
    ]
    assert fold(events).stock == {"sku-1": 5}


def test_several_lines_in_one_event():
    result = fold([wev("a", "received", 0, (("x", 1), ("y", 2), ("x", 3)))])
    assert result.stock == {"x": 4, "y": 2}
    assert (result.state.skus, result.state.units) == (2, 6)


def test_shipments_on_hand_from_handling_to_leaving():
    events = [
        wev("a", "picked", 0, (("sku-1", 1),), shipment_id="s-1", zone="A"),
        wev("b", "packed", 10, shipment_id="s-1", zone="P"),
        wev("c", "staged", 20, shipment_id="s-2", zone="DOCK"),
        wev("d", "received", 25, shipment_id="s-3"),  # not handling: no entry
    ]
    state = fold(events).state
    assert state.on_hand == {
        "s-1": {"since": utc(0), "stage": "packed", "zone": "P"},
        "s-2": {"since": utc(20), "stage": "staged", "zone": "DOCK"},
    }
    state = fold([*events, wev("e", "loaded", 30, shipment_id="s-1")]).state
    assert state.on_hand == {"s-2": {"since": utc(20), "stage": "staged", "zone": "DOCK"}}
    state = fold([*events, wev("e", "dispatched", 30, shipment_id="s-2")]).state
    assert set(state.on_hand) == {"s-1"}
    assert fold([wev("x", "dispatched", 0, shipment_id="s-404")]).state.on_hand == {}


def test_location_updated_at_high_water_and_counts():
    events = [
        wev("a", "received", 0, location=BERLIN),
        wev("b", "putaway", 2),
        wev("c", "received", 1, location=LYON),
    ]
    state = fold(events).state
    assert state.location == LYON  # the newest event that names a location, in occurrence order
    assert state.updated_at == utc(2)
    assert state.high_water == f"{utc(2)}#b"
    assert state.event_count == 3
    assert state.recent_event_ids == ("a", "c", "b")


def test_step_and_fold_agree():
    events = [wev("a", "received", 0, (("s", 3),)), wev("b", "picked", 1, (("s", 1),), shipment_id="x")]
    state, stock = None, {}
    for event in events:
        state = step(state, event, stock)
    assert state == fold(events).state and stock == fold(events).stock == {"s": 2}


def test_fold_is_independent_of_input_order_and_duplicates():
    events = [
        wev("a", "received", 0, (("sku-1", 10), ("sku-2", 3))),
        wev("b", "picked", 1, (("sku-1", 2),), shipment_id="s-1", zone="A", offset=60),
        wev("c", "cycle_counted", 2, (("sku-2", 5),), offset=-300),
        wev("d", "adjusted", 2, (("sku-2", -1),), offset=540),  # same instant as c; c sorts first
        wev("e", "loaded", 3, shipment_id="s-1"),
    ]
    expected = fold(events)
    assert expected.stock == {"sku-1": 8, "sku-2": 4}
    assert expected.state.on_hand == {}
    rng = random.Random(11)
    for _ in range(50):
        shuffled = events + rng.sample(events, 2)
        rng.shuffle(shuffled)
        assert fold(shuffled) == expected


def test_on_hand_is_bounded_and_drops_the_longest_on_hand():
    from logistics.domain.warehouse import MAX_ON_HAND

    events = [wev(f"p{i}", "picked", i, (), shipment_id=f"s{i:04d}") for i in range(MAX_ON_HAND + 3)]
    state = fold(events).state
    assert state is not None and len(state.on_hand) == MAX_ON_HAND
    assert state.on_hand_dropped == 3 and "s0000" not in state.on_hand and f"s{MAX_ON_HAND + 2:04d}" in state.on_hand
    # forward in two halves gives the same state as the whole set (any arrival order)
    half = fold(events[: MAX_ON_HAND // 2]).state
    assert fold(events[MAX_ON_HAND // 2 :], half).state == state
    assert fold(random.Random(3).sample(events, len(events))).state == state


def test_a_fold_onto_a_stored_state_needs_only_the_skus_its_events_move():
    """The stock of one SKU is the fold of its own movements: folding forward from the stored quantities of
    just the SKUs the new events move gives the state and those quantities of a fold of everything."""
    old = [wev(f"o{i}", "received", i, ((f"sku-{i}", 10 + i),)) for i in range(50)]
    new = [
        wev("n1", "picked", 60, (("sku-3", 4), ("sku-7", 1)), shipment_id="s-1"),
        wev("n2", "cycle_counted", 61, (("sku-3", 2), ("sku-new", 5))),
        wev("n3", "packed", 62, (("sku-9", 99),), shipment_id="s-1"),  # handling: no stock change
    ]
    everything = fold(old + new)
    stored = fold(old)
    assert stock_skus(new) == {"sku-3", "sku-7", "sku-new"}
    given = {sku: stored.stock[sku] for sku in stock_skus(new) if sku in stored.stock}
    forward = fold(new, stored.state, given)
    assert forward.state == everything.state
    assert forward.state.skus == 51 and forward.state.units == everything.state.units == sum(everything.stock.values())
    assert changed_stock(given, forward.stock) == {"sku-3": 2, "sku-7": 16, "sku-new": 5}
    assert given == {"sku-3": 13, "sku-7": 17}  # not modified


def test_changed_stock_names_new_and_different_quantities_only():
    assert changed_stock({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 0}) == {"b": 3, "c": 0}
    assert changed_stock({"a": 1}, {"a": 1}) == {}
