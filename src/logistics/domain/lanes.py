"""Lanes and what they teach: transit-time distributions learned from delivered shipments.

A *lane* is (merchant, carrier, service level, origin country -> destination region). The destination region is
the customer's time zone (``Europe/London``): it is known from the first event on, so a lane learned from
delivered shipments applies to shipments still under way. A lane's :class:`LaneStats` keeps, as compact
:class:`Histogram` s of hours, the transit time (picked up -> delivered) and, for every status a delivered
shipment went through, the time that remained from first reaching it to delivery, and how far the delivery
fell from the carrier's ETA as it stood then (signed hours, a :class:`SignedHistogram`); plus volume, on-time
count and a per-day series. Everything is a sum of counts, so statistics merge by adding (windows, shards,
replicas).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Self

from logistics.domain.eta import zone_of
from logistics.domain.shipment import ShipmentState
from logistics.domain.status import Status

# Buckets: 0 holds [0, MIN_HOURS]; bucket i > 0 holds (MIN_HOURS * 2^((i-1)/STEPS), MIN_HOURS * 2^(i/STEPS)]. With a
# ratio of 2^(1/STEPS) each bucket is 19% wide (a p50 of 40 h is known to +-4 h) and 52 buckets reach 60 days.
MIN_HOURS = 0.25
STEPS = 4  # buckets per doubling
BUCKETS = 52
UNKNOWN = "-"
TRANSIT = "transit"  # picked up -> delivered
SERIES_DAYS = 30  # days of per-day volume kept per lane
PHASES = (Status.CREATED, Status.PROCESSING, Status.READY_TO_SHIP, Status.PICKED_UP, Status.IN_TRANSIT,
          Status.OUT_FOR_DELIVERY, Status.AVAILABLE_FOR_PICKUP, Status.DELIVERY_ATTEMPTED, Status.EXCEPTION)


def bucket_of(hours: float) -> int:
    """The bucket holding ``hours`` (negative durations, clock skew, count as 0)."""
    if not hours > MIN_HOURS:  # also NaN
        return 0
    return min(BUCKETS - 1, max(1, math.ceil(math.log2(hours / MIN_HOURS) * STEPS - 1e-9)))


def bucket_bounds(index: int) -> tuple[float, float]:
    """Lower and upper hours of a bucket."""
    if index <= 0:
        return 0.0, MIN_HOURS
    return MIN_HOURS * 2 ** ((index - 1) / STEPS), MIN_HOURS * 2 ** (index / STEPS)


def signed_bucket_of(hours: float) -> int:
    """The bucket of a signed duration: ``-bucket_of(-hours)`` below zero; 0 holds [-MIN_HOURS, MIN_HOURS]."""
    return -bucket_of(-hours) if hours < 0 else bucket_of(hours)


def signed_bucket_bounds(index: int) -> tuple[float, float]:
    """Lower and upper hours of a signed bucket."""
    if index == 0:
        return -MIN_HOURS, MIN_HOURS
    if index < 0:
        low, high = bucket_bounds(-index)
        return -high, -low
    return bucket_bounds(index)


@dataclass
class Histogram:
    """Counts of durations in fixed log-spaced buckets of hours: compact, and merged by adding."""

    counts: dict[int, int] = field(default_factory=dict)
    signed: ClassVar[bool] = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @classmethod
    def bucket(cls, hours: float) -> int:
        return signed_bucket_of(hours) if cls.signed else bucket_of(hours)

    @classmethod
    def bounds(cls, index: int) -> tuple[float, float]:
        return signed_bucket_bounds(index) if cls.signed else bucket_bounds(index)

    def add(self, hours: float, n: int = 1) -> None:
        """Count ``n`` durations of ``hours``."""
        b = self.bucket(hours)
        self.counts[b] = self.counts.get(b, 0) + n

    def merge(self, other: Histogram) -> Self:
        """The sum of both (neither is changed)."""
        merged = dict(self.counts)
        for b, n in other.counts.items():
            merged[b] = merged.get(b, 0) + n
        return type(self)(merged)

    def quantile(self, q: float, *, above: float = -math.inf) -> float | None:
        """The ``q`` quantile in hours, among durations longer than ``above`` (None when there are none).

        Within a bucket durations are taken as spread geometrically (evenly in a bucket reaching zero or below);
        the bucket holding ``above`` counts only its part above it, so "how much longer, knowing it has already
        taken this long" has an answer.
        """
        parts: list[tuple[float, float, float]] = []  # (low, high, weight)
        for b in sorted(self.counts):
            low, high = self.bounds(b)
            if high <= above:
                continue
            if low < above:
                share = (high - above) / (high - low)
                low = above
            else:
                share = 1.0
            parts.append((low, high, self.counts[b] * share))
        total = sum(w for _, _, w in parts)
        if total <= 0:
            return None
        target = min(max(q, 0.0), 1.0) * total
        seen = 0.0
        for low, high, weight in parts:
            if seen + weight >= target and weight > 0:
                frac = (target - seen) / weight
                if low <= 0 or high <= 0:
                    return low + (high - low) * frac
                return low * (high / low) ** frac
            seen += weight
        return parts[-1][1]

    def to_item(self) -> dict[str, int]:
        """As stored: bucket index (text) -> count."""
        return {str(b): n for b, n in sorted(self.counts.items()) if n}

    @classmethod
    def from_item(cls, item: Mapping[str, Any] | None) -> Self:
        return cls({int(b): int(n) for b, n in (item or {}).items() if int(n)})


class SignedHistogram(Histogram):
    """A :class:`Histogram` of signed hours (log-spaced both ways from zero): how early (-) or late (+)."""

    signed = True


@dataclass(frozen=True)
class LaneKey:
    """Which lane a shipment travels: merchant, carrier, service level, origin country -> destination region."""

    merchant_id: str
    carrier: str = UNKNOWN
    service: str = UNKNOWN
    origin: str = UNKNOWN
    destination: str = UNKNOWN

    @property
    def lane_id(self) -> str:
        """The lane within its merchant: ``carrier|service|origin>destination``."""
        return f"{self.carrier}|{self.service}|{self.origin}>{self.destination}"

    @classmethod
    def parse(cls, merchant_id: str, lane_id: str) -> LaneKey:
        carrier, service, route = lane_id.split("|", 2)
        origin, _, destination = route.partition(">")
        return cls(merchant_id, carrier, service, origin, destination)


def destination_of(state: ShipmentState) -> str:
    """The destination region: the customer's time zone (known from the first event), else unknown."""
    tz = (state.customer or {}).get("timezone")
    return tz if isinstance(tz, str) and tz else UNKNOWN


def lane_of(state: ShipmentState, service: str | None = None) -> LaneKey:
    """The lane of a shipment: its service level is the state's (v2 events carry it) unless ``service`` says."""
    origin = (state.origin or {}).get("country")
    return LaneKey(state.merchant_id, state.carrier or UNKNOWN, service or state.service_level or UNKNOWN,
                   origin if isinstance(origin, str) and origin else UNKNOWN, destination_of(state))


def parse_utc(text: str) -> datetime:
    """A stored UTC timestamp (``...Z``) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def hours_between(start: str, end: str) -> float:
    return (parse_utc(end) - parse_utc(start)).total_seconds() / 3600.0


def local_date(at: datetime, tz: str | None) -> date:
    """The calendar date at ``at`` where the customer is (UTC when the zone is unknown)."""
    return at.astimezone(zone_of(tz)).date()


@dataclass
class LaneStats:
    """What a lane learned: volume, on-time count, transit and remaining-time histograms, the carrier ETA's
    residuals, a per-day series."""

    delivered: int = 0
    on_time: int = 0  # delivered on or before the ETA date the shipment had
    with_eta: int = 0  # deliveries whose on-time-ness is known
    histograms: dict[str, Histogram] = field(default_factory=dict)  # TRANSIT or a status -> hours
    days: dict[str, list[int]] = field(default_factory=dict)  # delivery date -> [delivered, on_time, with_eta]
    # status -> delivery minus the ETA instant in force when the status was first reached (signed hours)
    residuals: dict[str, SignedHistogram] = field(default_factory=dict)

    def histogram(self, name: str) -> Histogram:
        return self.histograms.get(name) or Histogram()

    def residual(self, status: str) -> SignedHistogram:
        return self.residuals.get(status) or SignedHistogram()

    def merge(self, other: LaneStats) -> LaneStats:
        """The sum of both, keeping the last :data:`SERIES_DAYS` days of the series."""
        names = set(self.histograms) | set(other.histograms)
        statuses = set(self.residuals) | set(other.residuals)
        days = {d: list(v) for d, v in self.days.items()}
        for d, v in other.days.items():
            mine = days.setdefault(d, [0, 0, 0])
            for i, n in enumerate(v[:3]):
                mine[i] += n
        kept = dict(sorted(days.items())[-SERIES_DAYS:])
        return LaneStats(self.delivered + other.delivered, self.on_time + other.on_time,
                         self.with_eta + other.with_eta,
                         {n: self.histogram(n).merge(other.histogram(n)) for n in sorted(names)}, kept,
                         {n: self.residual(n).merge(other.residual(n)) for n in sorted(statuses)})

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.with_eta if self.with_eta else None

    def transit_quantile(self, q: float) -> float | None:
        return self.histogram(TRANSIT).quantile(q)

    def to_item(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "on_time": self.on_time, "with_eta": self.with_eta,
                "hist": {n: h.to_item() for n, h in sorted(self.histograms.items()) if h.counts},
                "days": {d: list(v) for d, v in sorted(self.days.items())},
                "resid": {n: h.to_item() for n, h in sorted(self.residuals.items()) if h.counts}}

    @classmethod
    def from_item(cls, item: Mapping[str, Any] | None) -> LaneStats:
        """A stored item (one written before residuals were learned loads with none)."""
        item = item or {}
        return cls(int(item.get("delivered", 0)), int(item.get("on_time", 0)), int(item.get("with_eta", 0)),
                   {n: Histogram.from_item(h) for n, h in (item.get("hist") or {}).items()},
                   {d: [int(x) for x in v] for d, v in (item.get("days") or {}).items()},
                   {n: SignedHistogram.from_item(h) for n, h in (item.get("resid") or {}).items()})


def was_on_time(state: ShipmentState) -> bool | None:
    """Whether a delivered shipment arrived on or before its ETA date (None: no ETA or not delivered)."""
    delivered = state.milestones.get(Status.DELIVERED.value)
    eta = (state.eta or {}).get("date")
    if not delivered or not isinstance(eta, str):
        return None
    return local_date(parse_utc(delivered), destination_of(state)).isoformat() <= eta


def delivery_stats(state: ShipmentState) -> LaneStats | None:
    """What one delivered shipment adds to its lane (None when it is not delivered)."""
    if state.status != Status.DELIVERED:
        return None
    delivered = state.milestones.get(Status.DELIVERED.value)
    if not delivered:
        return None
    histograms: dict[str, Histogram] = {}
    residuals: dict[str, SignedHistogram] = {}
    for phase in PHASES:
        reached = state.milestones.get(phase.value)
        if reached and reached <= delivered:
            remaining = hours_between(reached, delivered)
            histograms.setdefault(phase.value, Histogram()).add(remaining)
            lead = state.eta_leads.get(phase.value)
            if lead is not None:  # the ETA was ``lead`` hours ahead then: delivery came remaining - lead after it
                residuals.setdefault(phase.value, SignedHistogram()).add(remaining - lead)
    picked = state.milestones.get(Status.PICKED_UP.value)
    if picked and picked <= delivered:
        histograms[TRANSIT] = Histogram()
        histograms[TRANSIT].add(hours_between(picked, delivered))
    on_time = was_on_time(state)
    day = local_date(parse_utc(delivered), destination_of(state)).isoformat()
    return LaneStats(1, int(bool(on_time)), int(on_time is not None), histograms,
                     {day: [1, int(bool(on_time)), int(on_time is not None)]}, residuals)


def rollups(key: LaneKey) -> list[str]:
    """Every aggregate a delivery on ``key`` counts in (within its merchant): the lane, its carrier, its
    destination and the merchant as a whole. Predictions fall back along them; the dashboard reads them."""
    return [f"L#{key.lane_id}", f"C#{key.carrier}", f"D#{key.destination}", "M#all"]


def total(stats: Iterable[LaneStats]) -> LaneStats:
    out = LaneStats()
    for s in stats:
        out = out.merge(s)
    return out
