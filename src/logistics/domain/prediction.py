"""Predicted delivery date: the carrier's ETA corrected by what the lane learned, or the lane's remaining times.

With a carrier ETA (as an instant, :func:`~logistics.domain.eta.eta_instant`), the lane knows, for delivered
shipments in the same status, how far delivery fell from the ETA they had then: the residual D (signed hours).
The shipment is not delivered at ``now``, so the prediction is the ETA plus the distribution of D *given
delivery after now*: its p50 (the median minimises the absolute error, so a biased ETA is corrected) and its
p10-p90 window. The ETA carries what the lane cannot know (this parcel's own route and schedule), the residual
what the ETA gets wrong on this lane.

Without an ETA (or with too few residuals learned): the shipment first reached its status at ``t0`` and is not
delivered ``e`` hours later; among the lane's deliveries through that status the remaining time R from ``t0``
is known, and the prediction is R *given R > e* added to ``t0``. Dates are where the customer is. A lane with
too few deliveries through the status falls back to the carrier's, then the destination's, then the merchant's
statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from logistics.domain.eta import eta_instant
from logistics.domain.lanes import (
    PHASES,
    Histogram,
    LaneStats,
    destination_of,
    lane_of,
    local_date,
    parse_utc,
    rollups,
)
from logistics.domain.shipment import ShipmentState

MIN_SAMPLES = 8  # deliveries through a status before its statistics are trusted
# Quantiles of the window: p10-p90, widened a little because lanes drift and fallbacks are coarser.
LOW_Q, MID_Q, HIGH_Q = 0.08, 0.5, 0.92
BASIS = {"L": "lane", "C": "carrier", "D": "destination", "M": "merchant"}
FROM_ETA, FROM_STATUS = "carrier_eta", "remaining_time"  # Prediction.method


@dataclass(frozen=True)
class Prediction:
    """Most likely delivery date and the p10-p90 window (customer's local dates), with the carrier's ETA beside."""

    likely: date
    earliest: date
    latest: date
    likely_at: datetime  # UTC instant of the p50
    basis: str  # lane | carrier | destination | merchant
    samples: int
    carrier_eta: str | None  # the ETA date the carrier (or merchant) gave
    made_at: datetime
    method: str = FROM_STATUS  # FROM_ETA: the carrier's ETA plus the lane's residuals; FROM_STATUS: remaining time

    @property
    def trending_late(self) -> bool:
        """The most likely date is past the promised (ETA) date."""
        return self.carrier_eta is not None and self.likely.isoformat() > self.carrier_eta

    def to_dict(self) -> dict[str, Any]:
        return {"likely": self.likely.isoformat(), "earliest": self.earliest.isoformat(),
                "latest": self.latest.isoformat(), "likely_at": self.likely_at.isoformat(),
                "basis": self.basis, "samples": self.samples, "carrier_eta": self.carrier_eta,
                "trending_late": self.trending_late, "made_at": self.made_at.isoformat(), "method": self.method}


def predict(state: ShipmentState, stats: Mapping[str, LaneStats], now: datetime) -> Prediction | None:
    """The prediction for a shipment under way (None when delivered, ended, or nothing was learned yet).

    ``stats`` maps aggregate names (:func:`~logistics.domain.lanes.rollups`) to what they learned. The most
    specific aggregate that has learned enough answers; within it, the ETA's residuals before remaining times.
    """
    if state.status not in PHASES:
        return None
    tz = destination_of(state)
    status = state.status.value
    anchor = parse_utc(state.milestones.get(status) or state.status_changed_at)
    eta = eta_instant(state.eta, tz)
    for name in rollups(lane_of(state)):
        learned = stats.get(name)
        if learned is None:
            continue
        tries = ((FROM_ETA, learned.residual(status), eta),) if eta is not None else ()
        for method, histogram, base in (*tries, (FROM_STATUS, learned.histogram(status), anchor)):
            hours = _window(histogram, base, now)
            if hours is None:
                continue
            low, mid, high = (base + timedelta(hours=h) for h in hours)
            return Prediction(local_date(mid, tz), local_date(low, tz), local_date(high, tz), mid,
                              BASIS[name[0]], histogram.total, _eta_date(state), now, method)
    return None


def _window(histogram: Histogram, base: datetime, now: datetime) -> tuple[float, float, float] | None:
    """Hours after ``base`` of the p10, p50 and p90 of deliveries still to come at ``now`` (None: too few
    learned, or every learned delivery came sooner than this one has waited, so a wider set must answer)."""
    if histogram.total < MIN_SAMPLES:
        return None
    elapsed = (now - base).total_seconds() / 3600.0
    hours = [histogram.quantile(q, above=elapsed if histogram.signed else max(0.0, elapsed))
             for q in (LOW_Q, MID_Q, HIGH_Q)]
    if hours[0] is None or hours[1] is None or hours[2] is None:
        return None
    return hours[0], hours[1], hours[2]


def _eta_date(state: ShipmentState) -> str | None:
    value = (state.eta or {}).get("date")
    return value if isinstance(value, str) else None


def revision(previous: Mapping[str, Any] | None, current: Prediction) -> str | None:
    """Why ``current`` is worth telling about, given the last prediction told (a :meth:`Prediction.to_dict`):
    ``moved`` (the likely date moved by a day or more) or ``trending_late`` (it just passed the promised
    date); None otherwise, and for the first prediction unless it is already late."""
    if previous is None:
        return "trending_late" if current.trending_late else None
    if current.trending_late and not previous.get("trending_late"):
        return "trending_late"
    before = date.fromisoformat(str(previous["likely"]))
    if abs((current.likely - before).days) >= 1:
        return "moved"
    return None
