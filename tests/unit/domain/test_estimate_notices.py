"""Which delivery estimate is worth telling, its revision number, and the customer's wording."""

from __future__ import annotations

from datetime import UTC, date, datetime

from logistics.domain.estimate_notices import customer_text, next_notice
from logistics.domain.prediction import Prediction

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


def made(likely: date, eta: str | None = "2026-12-31") -> Prediction:
    return Prediction(likely, likely.replace(day=likely.day - 1), likely.replace(day=likely.day + 1),
                      datetime(likely.year, likely.month, likely.day, 12, tzinfo=UTC), "lane", 40, eta, NOW)


def told(revision: int, prediction: Prediction) -> dict:
    return {"revision": revision, "prediction": prediction.to_dict()}


def test_a_first_prediction_on_time_is_not_news_but_a_late_one_is_revision_one() -> None:
    assert next_notice("m1", "s1", None, made(date(2026, 11, 22))) is None
    late = next_notice("m1", "s1", None, made(date(2026, 11, 24), eta="2026-11-22"))
    assert late is not None and (late.revision, late.reason, late.previous) == (1, "trending_late", None)
    assert late.key == "m1#s1#delivery_estimate_revised#1"


def test_a_move_of_a_day_or_more_is_the_next_revision_less_is_nothing() -> None:
    before = made(date(2026, 11, 22))
    assert next_notice("m1", "s1", told(3, before), made(date(2026, 11, 22))) is None
    later = next_notice("m1", "s1", told(3, before), made(date(2026, 11, 23)))
    earlier = next_notice("m1", "s1", told(3, before), made(date(2026, 11, 21)))
    assert later is not None and (later.revision, later.reason) == (4, "moved")
    assert later.previous == before.to_dict()
    assert earlier is not None and earlier.reason == "moved"


def test_starting_to_trend_late_is_told_even_without_a_move_and_only_once() -> None:
    on_time = made(date(2026, 11, 22), eta="2026-11-22")
    assert not on_time.trending_late
    late = made(date(2026, 11, 22), eta="2026-11-21")  # the promise moved earlier: now late, same likely date
    notice = next_notice("m1", "s1", told(1, on_time), late)
    assert notice is not None and (notice.revision, notice.reason) == (2, "trending_late")
    # The same revision again (a replayed record after it was recorded) is not told again.
    assert next_notice("m1", "s1", told(2, late), late) is None


def test_customer_wording_gives_dates_only() -> None:
    notice = next_notice("m1", "s1", None, made(date(2026, 11, 24), eta="2026-11-22"))
    assert notice is not None
    text = customer_text(notice)
    assert "Tuesday 24 November" in text and "between Monday 23 November and Wednesday 25 November" in text
    assert "later than first expected" in text
    for internal in ("lane", "carrier", "p10", "p90", "samples", "2026-11-22"):
        assert internal not in text
