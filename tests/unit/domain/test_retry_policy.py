"""RetryPolicy: the backoff schedule of notifications that could not be delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from logistics.domain.notifications import RetryPolicy, iso

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(base_s=60, cap_s=3600, window_s=24 * 3600)


def test_the_wait_doubles_from_the_base_up_to_the_cap() -> None:
    longest = [POLICY.delay_s(n, rand=0.999999) for n in range(1, 10)]
    shortest = [POLICY.delay_s(n, rand=0.0) for n in range(1, 10)]
    assert [round(d) for d in longest] == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert [round(d) for d in shortest] == [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]


@given(attempts=st.integers(min_value=1, max_value=10_000), rand=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_jitter_keeps_each_wait_between_half_and_all_of_its_step(attempts: int, rand: float) -> None:
    step = min(POLICY.cap_s, POLICY.base_s * 2 ** min(attempts - 1, 64))
    assert step / 2 <= POLICY.delay_s(attempts, rand) <= step


def test_deliveries_that_failed_together_spread_out() -> None:
    waits = {round(POLICY.delay_s(3, rand=r / 10), 3) for r in range(10)}
    assert len(waits) == 10 and min(waits) == 120 and max(waits) < 240


def test_a_full_schedule_tries_a_few_dozen_times_in_a_day_and_last_at_the_windows_end() -> None:
    now, attempts, schedule = T0, 1, []
    while (nxt := POLICY.next_attempt(now, attempts, T0, rand=0.5)) is not None:
        schedule.append(nxt)
        now, attempts = nxt, attempts + 1
    assert schedule == sorted(schedule)
    assert schedule[-1] == T0 + timedelta(days=1)  # the last attempt is at the end of the window
    assert 30 <= len(schedule) <= 40  # 7 growing waits, then ~45 min apart (the cap, jittered)
    assert POLICY.next_attempt(T0 + timedelta(days=1), attempts, T0, rand=0.5) is None  # then: give up


def test_a_window_of_zero_gives_up_at_once() -> None:
    assert RetryPolicy(base_s=1, cap_s=1, window_s=0).next_attempt(T0, 1, T0, rand=0.5) is None


def test_log_times_compare_as_strings_in_time_order() -> None:
    times = [T0 + timedelta(milliseconds=n * 37) for n in range(100)]
    assert sorted(iso(t) for t in reversed(times)) == [iso(t) for t in times]
    assert iso(datetime(2026, 11, 20, 11, 0, tzinfo=UTC).astimezone()) == "2026-11-20T11:00:00.000+00:00"
