"""Predicted delivery date: from a lane's learned remaining times and where the shipment is now.

The shipment first reached its current status at ``t0`` and is still not delivered ``e`` hours later. Among the
lane's delivered shipments that went through that status, the remaining time R from ``t0`` to delivery is
known (:class:`~logistics.domain.lanes.LaneStats`); the prediction is the distribution of R *given R > e*: its
p10, p50 and p90 added to ``t0``, as dates where the customer is. A lane with too few deliveries through that
status falls back to the carrier's, then the destination's, then the merchant's statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from logistics.domain.lanes import PHASES, LaneStats, destination_of, lane_of, local_date, parse_utc, rollups
from logistics.domain.shipment import ShipmentState

MIN_SAMPLES = 8  # deliveries through a status before its statistics are trusted
# Quantiles of the window: p10-p90, widened a little because lanes drift and fallbacks are coarser.
LOW_Q, MID_Q, HIGH_Q = 0.08, 0.5, 0.92
BASIS = {"L": "lane", "C": "carrier", "D": "destination", "M": "merchant"}


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

    @property
    def trending_late(self) -> bool:
        """The most likely date is past the promised (ETA) date."""
        return self.carrier_eta is not None and self.likely.isoformat() > self.carrier_eta

    def to_dict(self) -> dict[str, Any]:
        return {"likely": self.likely.isoformat(), "earliest": self.earliest.isoformat(),
                "latest": self.latest.isoformat(), "likely_at": self.likely_at.isoformat(),
                "basis": self.basis, "samples": self.samples, "carrier_eta": self.carrier_eta,
                "trending_late": self.trending_late, "made_at": self.made_at.isoformat()}


def predict(state: ShipmentState, stats: Mapping[str, LaneStats], now: datetime) -> Prediction | None:
    """The prediction for a shipment under way (None when delivered, ended, or nothing was learned yet).

    ``stats`` maps aggregate names (:func:`~logistics.domain.lanes.rollups`) to what they learned.
    """
    if state.status not in PHASES:
        return None
    anchor_text = state.milestones.get(state.status.value) or state.status_changed_at
    anchor = parse_utc(anchor_text)
    elapsed = max(0.0, (now - anchor).total_seconds() / 3600.0)
    for name in rollups(lane_of(state)):
        learned = stats.get(name)
        histogram = learned.histogram(state.status.value) if learned else None
        if histogram is None or histogram.total < MIN_SAMPLES:
            continue
        hours = [histogram.quantile(q, above=elapsed) for q in (LOW_Q, MID_Q, HIGH_Q)]
        if any(h is None for h in hours):
            continue  # every learned shipment was delivered sooner than this one has waited: ask a wider set
        low, mid, high = (anchor + timedelta(hours=h or 0.0) for h in hours)
        tz = destination_of(state)
        return Prediction(local_date(mid, tz), local_date(low, tz), local_date(high, tz), mid,
                          BASIS[name[0]], histogram.total, _eta_date(state), now)
    return None


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
