"""The carrier's ETA as information: the instant it promises, the lead the fold keeps at each milestone, the
signed residuals a lane learns from it, and predictions that correct it; the service level that splits lanes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from domain_builders import ev
from hypothesis import given
from hypothesis import strategies as st

from logistics.adapters.codec import from_attributes, shipment_from_item, shipment_item, to_attributes
from logistics.domain.eta import eta_instant, lead_hours
from logistics.domain.lanes import (
    BUCKETS,
    MIN_HOURS,
    Histogram,
    LaneKey,
    LaneStats,
    SignedHistogram,
    delivery_stats,
    lane_of,
    signed_bucket_bounds,
    signed_bucket_of,
)
from logistics.domain.prediction import FROM_ETA, FROM_STATUS, predict
from logistics.domain.shipment import ShipmentState, fold
from logistics.domain.status import Status

signed_hours = st.floats(min_value=-2000.0, max_value=2000.0, allow_nan=False)
BERLIN_TZ = {"timezone": "Europe/Berlin", "contact_ref": "c-1", "channels": []}


# --- the ETA as an instant ------------------------------------------------------------------------


def test_an_eta_is_the_middle_of_its_window_else_local_noon() -> None:
    window = {"date": "2026-11-22", "window_start": "08:00", "window_end": "11:30"}
    assert eta_instant(window, "Europe/Berlin") == datetime(2026, 11, 22, 8, 45, tzinfo=UTC)  # 09:45 CET
    assert eta_instant({"date": "2026-11-22"}, "Europe/Berlin") == datetime(2026, 11, 22, 11, tzinfo=UTC)
    assert eta_instant({"date": "2026-11-22", "window_start": None}, None) == datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert eta_instant({"date": "2026-11-22"}, "Not/AZone") == datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert eta_instant(None, "Europe/Berlin") is None and eta_instant({"date": "2026-13-01"}, None) is None
    assert lead_hours({"date": "2026-11-22"}, None, "2026-11-20T10:00:00.000Z") == 50
    assert lead_hours({"date": "2026-11-22"}, None, "2026-11-23T12:00:00.000Z") == -24


# --- signed histograms ----------------------------------------------------------------------------


@given(signed_hours)
def test_a_signed_duration_falls_inside_its_bucket(h: float) -> None:
    b = signed_bucket_of(h)
    low, high = signed_bucket_bounds(b)
    assert -BUCKETS < b < BUCKETS
    assert low - 1e-9 * abs(low) <= h <= high + 1e-9 * abs(high) or abs(b) == BUCKETS - 1
    assert (b < 0) == (h < -MIN_HOURS)  # negative buckets hold only negative durations


@given(st.lists(signed_hours, max_size=40), st.lists(signed_hours, max_size=40))
def test_signed_histograms_merge_like_counting_everything_at_once(a: list[float], b: list[float]) -> None:
    left, right, both = SignedHistogram(), SignedHistogram(), SignedHistogram()
    for h in a:
        left.add(h)
        both.add(h)
    for h in b:
        right.add(h)
        both.add(h)
    merged = left.merge(right)
    assert merged == both == right.merge(left) and isinstance(merged, SignedHistogram)
    assert SignedHistogram.from_item(both.to_item()) == both


@given(st.lists(st.floats(min_value=-300.0, max_value=300.0), min_size=20, max_size=200))
def test_signed_quantiles_are_within_a_bucket_of_the_exact_ones(values: list[float]) -> None:
    hist = SignedHistogram()
    for v in values:
        hist.add(v)
    ordered = sorted(values)
    for q in (0.1, 0.5, 0.9):
        estimate = hist.quantile(q)
        assert estimate is not None
        exact_low = ordered[max(0, int(q * len(ordered)) - 1)]
        exact_high = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        lowest = signed_bucket_bounds(signed_bucket_of(exact_low))[0]
        highest = signed_bucket_bounds(signed_bucket_of(exact_high))[1]
        assert lowest - 1e-9 <= estimate <= highest + 1e-9
    assert hist.quantile(0.1) <= hist.quantile(0.5) <= hist.quantile(0.9)  # type: ignore[operator]


def test_a_signed_conditional_quantile_looks_only_past_what_is_known() -> None:
    hist = SignedHistogram()
    for v in (-20.0,) * 50 + (30.0,) * 50:
        hist.add(v)
    assert hist.quantile(0.5, above=-5.0) is not None and hist.quantile(0.5, above=-5.0) > 25  # type: ignore[operator]
    assert hist.quantile(0.5, above=-100.0) is not None and hist.quantile(0.5, above=-100.0) < 0  # type: ignore[operator]
    assert hist.quantile(0.5, above=500.0) is None


# --- the fold keeps the service level and the ETA's lead at each milestone -----------------------


def journey() -> ShipmentState | None:
    events = [
        ev("e1", Status.CREATED, 0, eta={"date": "2024-05-04"}, customer=BERLIN_TZ,
           extra={"service_level": "express"}),
        ev("e2", Status.PICKED_UP, 600, extra={"service_level": "economy"}),  # the first known level stays
        ev("e3", Status.IN_TRANSIT, 1200),
        ev("e4", Status.IN_TRANSIT, 1500, eta={"date": "2024-05-06"}),  # a delay: not a new milestone
        ev("e5", Status.OUT_FOR_DELIVERY, 1680,
           eta={"date": "2024-05-02", "window_start": "14:00", "window_end": "16:00"}),
        ev("e6", Status.DELIVERED, 1980),
    ]
    return fold(events).state


def test_the_fold_keeps_the_first_service_level_and_the_eta_lead_at_each_milestone() -> None:
    state = journey()
    assert state is not None and state.service_level == "express"
    # 2024-05-04 noon in Berlin is 10:00 UTC; the journey starts 2024-05-01 08:00 UTC. Out for delivery at
    # 12:00 UTC on 2024-05-02 with a 14:00-16:00 window in Berlin: 15:00 there is 13:00 UTC.
    assert state.eta_leads == {"CREATED": 74, "PICKED_UP": 64, "IN_TRANSIT": 54, "OUT_FOR_DELIVERY": 1}
    assert lane_of(state) == LaneKey(state.merchant_id, "-", "express", "-", "Europe/Berlin")
    assert lane_of(state, "standard").service == "standard"
    assert LaneKey.parse(state.merchant_id, lane_of(state).lane_id) == lane_of(state)


def test_a_stored_state_round_trips_its_new_fields_and_an_older_one_still_loads() -> None:
    state = journey()
    assert state is not None
    item = from_attributes(to_attributes(shipment_item(state)))
    assert shipment_from_item(item) == state
    older = {k: v for k, v in item.items() if k not in ("eta_leads", "service_level")}
    assert shipment_from_item(older) == replace(state, eta_leads={}, service_level=None)


# --- residuals learned, and the predictions they make -------------------------------------------


def test_a_delivery_teaches_how_far_it_fell_from_each_eta() -> None:
    state = journey()
    assert state is not None
    stats = delivery_stats(state)
    assert stats is not None
    # Delivered 2024-05-02 17:00 UTC, 33 h after CREATED, whose ETA was then 74 h ahead: 41 h early.
    assert stats.residual("CREATED").counts == {signed_bucket_of(33 - 74): 1}
    assert stats.residual("OUT_FOR_DELIVERY").counts == {signed_bucket_of(5 - 1): 1}
    assert set(stats.residuals) == {"CREATED", "PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY"}
    assert LaneStats.from_item(stats.to_item()) == stats
    older = {k: v for k, v in stats.to_item().items() if k != "resid"}  # written before residuals existed
    assert LaneStats.from_item(older) == replace(stats, residuals={})
    both = stats.merge(stats)
    assert both.residual("CREATED").total == 2 and isinstance(both.residual("CREATED"), SignedHistogram)


def under_way(eta: dict[str, str] | None) -> ShipmentState:
    since = "2026-11-20T08:00:00.000Z"
    return ShipmentState(
        merchant_id="m1", shipment_id="s1", status=Status.IN_TRANSIT, status_event_id="e", status_changed_at=since,
        updated_at=since, high_water=since, carrier="DHL", origin={"country": "DE"}, eta=eta,
        customer={"timezone": "UTC"}, service_level="standard", milestones={"IN_TRANSIT": since})


def lane_learned(residuals: list[float], remaining: list[float]) -> dict[str, LaneStats]:
    stats = LaneStats(len(residuals), residuals={"IN_TRANSIT": SignedHistogram()})
    for r in residuals:
        stats.residuals["IN_TRANSIT"].add(r)
    for h in remaining:
        stats.histograms.setdefault("IN_TRANSIT", Histogram()).add(h)
    return {"L#DHL|standard|DE>UTC": stats}


@given(st.floats(min_value=-60.0, max_value=100.0))
def test_a_steady_bias_of_the_eta_is_corrected(bias: float) -> None:
    stats = lane_learned([bias] * 40, [48.0] * 40)
    eta = datetime(2026, 11, 23, 12, tzinfo=UTC)
    now = eta + timedelta(hours=min(bias, 0.0)) - timedelta(hours=90)  # well before either
    made = predict(under_way({"date": "2026-11-23"}), stats, now)
    assert made is not None and made.method == FROM_ETA and made.basis == "lane"
    low, high = signed_bucket_bounds(signed_bucket_of(bias))
    assert eta + timedelta(hours=low - 1e-6) <= made.likely_at <= eta + timedelta(hours=high + 1e-6)
    assert made.earliest <= made.likely <= made.latest
    assert made.to_dict()["method"] == FROM_ETA


def test_an_eta_already_passed_looks_only_at_later_deliveries_and_without_one_remaining_times_answer() -> None:
    stats = lane_learned([-10.0] * 30 + [50.0] * 10, [48.0] * 40)
    eta = datetime(2026, 11, 23, 12, tzinfo=UTC)
    made = predict(under_way({"date": "2026-11-23"}), stats, eta + timedelta(hours=5))
    assert made is not None and made.likely_at > eta + timedelta(hours=40)
    assert predict(under_way({"date": "2026-11-23"}), stats, eta + timedelta(days=30)) is None
    without = predict(under_way(None), stats, datetime(2026, 11, 20, 9, tzinfo=UTC))
    assert without is not None and without.method == FROM_STATUS and without.carrier_eta is None


def test_a_state_without_eta_leads_stores_no_empty_map() -> None:
    state = fold([ev("e1", Status.CREATED, 0)]).state
    assert state is not None and state.eta_leads == {}
    item = shipment_item(state)
    assert "eta_leads" not in item and shipment_from_item(from_attributes(to_attributes(item))) == state
