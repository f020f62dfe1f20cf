"""The carrier's ETA as one instant, so it can be compared with (and corrected by) what really happened.

An ETA is a local date at the customer, with an optional hour window (``{"date": "2026-11-22", "window_start":
"08:00", "window_end": "11:00"}``). As an instant it is the middle of its window, or local noon of its date when
it has none: the point that a customer reading "Tuesday" or "Tuesday 8-11" would take as the promise. Both
the backtest's carrier error and the residuals lanes learn (:mod:`~logistics.domain.lanes`) use this one
definition, so a prediction and the ETA it corrects are measured the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UNKNOWN = "-"
NOON = 12.0


def zone_of(tz: str | None) -> tzinfo:
    """The customer's time zone (UTC when unknown or not a zone name)."""
    try:
        return ZoneInfo(tz) if tz and tz != UNKNOWN else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _hour(text: Any) -> float | None:
    """``"08:30"`` as 8.5 (None when absent or malformed)."""
    if not isinstance(text, str):
        return None
    hours, _, minutes = text.partition(":")
    try:
        return int(hours) + int(minutes or 0) / 60
    except ValueError:
        return None


def eta_instant(eta: Mapping[str, Any] | None, tz: str | None) -> datetime | None:
    """The ETA as a UTC instant: the middle of its window, else local noon of its date (None without a date)."""
    day_text = (eta or {}).get("date")
    if not isinstance(day_text, str):
        return None
    try:
        day = datetime.fromisoformat(day_text).date()
    except ValueError:
        return None
    start, end = _hour((eta or {}).get("window_start")), _hour((eta or {}).get("window_end"))
    hour = (start + end) / 2 if start is not None and end is not None and end >= start else NOON
    local = datetime.combine(day, time(), tzinfo=zone_of(tz)) + timedelta(hours=hour)
    return local.astimezone(UTC)


def lead_hours(eta: Mapping[str, Any] | None, tz: str | None, at: str) -> int | None:
    """Whole hours from ``at`` (a stored UTC timestamp) to the ETA instant; negative when the ETA has passed."""
    instant = eta_instant(eta, tz)
    if instant is None:
        return None
    return round((instant - datetime.fromisoformat(at.replace("Z", "+00:00"))).total_seconds() / 3600)
