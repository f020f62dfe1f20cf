"""Lane statistics (histograms that merge by adding) and predicted delivery dates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from logistics.domain.lanes import (
    BUCKETS,
    TRANSIT,
    Histogram,
    LaneKey,
    LaneStats,
    bucket_bounds,
    bucket_of,
    delivery_stats,
    lane_of,
    rollups,
    was_on_time,
)
from logistics.domain.prediction import predict, revision
from logistics.domain.shipment import ShipmentState
from logistics.domain.status import Status

hours = st.floats(min_value=0.0, max_value=2000.0, allow_nan=False)


@given(hours)
def test_a_duration_falls_inside_its_bucket(h: float) -> None:
    b = bucket_of(h)
    low, high = bucket_bounds(b)
    assert 0 <= b < BUCKETS
    assert low * (1 - 1e-9) <= h <= high * (1 + 1e-9) or b == BUCKETS - 1


@given(st.lists(hours, max_size=40), st.lists(hours, max_size=40))
def test_histograms_merge_like_counting_everything_at_once(a: list[float], b: list[float]) -> None:
    left, right, both = Histogram(), Histogram(), Histogram()
    for h in a:
        left.add(h)
        both.add(h)
    for h in b:
        right.add(h)
        both.add(h)
    assert left.merge(right) == both == right.merge(left)
    assert Histogram.from_item(both.to_item()) == both


@given(st.lists(st.floats(min_value=1.0, max_value=500.0), min_size=20, max_size=200))
def test_quantiles_are_within_a_bucket_of_the_exact_ones(values: list[float]) -> None:
    hist = Histogram()
    for v in values:
        hist.add(v)
    ordered = sorted(values)
    for q in (0.1, 0.5, 0.9):
        estimate = hist.quantile(q)
        assert estimate is not None
        exact_low = ordered[max(0, int(q * len(ordered)) - 1)]
        exact_high = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        assert exact_low / 1.2 - 1e-9 <= estimate <= exact_high * 1.2 + 1e-9
    assert hist.quantile(0.1) <= hist.quantile(0.5) <= hist.quantile(0.9)  # type: ignore[operator]


def test_conditional_quantile_looks_only_past_what_has_elapsed() -> None:
    hist = Histogram()
    for v in (10.0,) * 50 + (100.0,) * 50:
        hist.add(v)
    assert hist.quantile(0.5, above=50.0) is not None and hist.quantile(0.5, above=50.0) > 80  # type: ignore[operator]
    assert hist.quantile(0.5, above=5000.0) is None


def delivered(shipment_id: str = "s1", picked: str = "2026-11-20T08:00:00.000Z",
              done: str = "2026-11-22T10:00:00.000Z", eta: str = "2026-11-22") -> ShipmentState:
    return ShipmentState(
        merchant_id="m1", shipment_id=shipment_id, status=Status.DELIVERED, status_event_id="e", status_changed_at=done,
        updated_at=done, high_water=done, carrier="DHL", origin={"country": "DE"}, eta={"date": eta},
        customer={"timezone": "Europe/Berlin"},
        milestones={"CREATED": "2026-11-19T10:00:00.000Z", "PICKED_UP": picked, "IN_TRANSIT": picked,
                    "DELIVERED": done})


def test_a_delivery_teaches_its_lane_transit_and_remaining_times() -> None:
    state = delivered()
    stats = delivery_stats(state)
    assert stats is not None and stats.delivered == 1 and stats.on_time == 1 and stats.with_eta == 1
    assert stats.histogram(TRANSIT).counts == {bucket_of(50.0): 1}
    assert stats.histogram("CREATED").counts == {bucket_of(72.0): 1}
    assert stats.days == {"2026-11-22": [1, 1, 1]}
    assert delivery_stats(replace(state, status=Status.IN_TRANSIT)) is None
    assert was_on_time(delivered(eta="2026-11-21")) is False
    key = lane_of(state)
    assert key == LaneKey("m1", "DHL", "-", "DE", "Europe/Berlin")
    assert LaneKey.parse("m1", key.lane_id) == key
    assert rollups(key) == ["L#DHL|-|DE>Europe/Berlin", "C#DHL", "D#Europe/Berlin", "M#all"]


def test_lane_stats_round_trip_and_keep_a_bounded_series() -> None:
    total = LaneStats()
    for day in range(40):
        done = (datetime(2026, 10, 1, 12, tzinfo=UTC) + timedelta(days=day)).isoformat().replace("+00:00", ".000Z")
        stats = delivery_stats(delivered(done=done, picked="2026-09-30T08:00:00.000Z", eta="2027-01-01"))
        assert stats is not None
        total = total.merge(stats)
    assert total.delivered == 40 and len(total.days) == 30 and min(total.days) == "2026-10-11"
    assert LaneStats.from_item(total.to_item()) == total


def learned(remaining_hours: list[float]) -> dict[str, LaneStats]:
    hist = Histogram()
    for h in remaining_hours:
        hist.add(h)
    return {"L#DHL|-|DE>Europe/Berlin": LaneStats(len(remaining_hours), histograms={"IN_TRANSIT": hist})}


def in_transit(since: str = "2026-11-20T08:00:00.000Z", eta: str = "2026-11-23") -> ShipmentState:
    return replace(delivered(eta=eta), status=Status.IN_TRANSIT, milestones={"IN_TRANSIT": since})


def test_prediction_adds_the_lanes_remaining_time_to_when_the_status_began() -> None:
    stats = learned([48.0] * 40)
    made = predict(in_transit(), stats, datetime(2026, 11, 20, 9, tzinfo=UTC))
    assert made is not None and made.basis == "lane" and made.samples == 40
    assert made.likely == date(2026, 11, 22) and made.earliest <= made.likely <= made.latest
    assert made.carrier_eta == "2026-11-23" and not made.trending_late
    # Two days later and still not delivered: the lane's longer deliveries are all that is left.
    assert predict(in_transit(), stats, datetime(2026, 11, 25, tzinfo=UTC)) is None  # nothing learned took that long
    slow = learned([48.0] * 30 + [150.0] * 10)
    late = predict(in_transit(), slow, datetime(2026, 11, 23, tzinfo=UTC))
    assert late is not None and late.likely == date(2026, 11, 26) and late.trending_late
    assert revision(made.to_dict(), late) == "trending_late"
    assert revision(late.to_dict(), late) is None
    assert predict(in_transit(), learned([48.0] * 3), datetime(2026, 11, 20, tzinfo=UTC)) is None  # too few


def test_revision_when_the_likely_date_moves_a_day() -> None:
    now = datetime(2026, 11, 20, 9, tzinfo=UTC)
    first = predict(in_transit(eta="2026-12-31"), learned([48.0] * 40), now)
    moved = predict(in_transit(eta="2026-12-31"), learned([80.0] * 40), now)
    assert first is not None and moved is not None
    assert revision(None, first) is None and revision(first.to_dict(), moved) == "moved"
