"""Backtest of the predicted delivery dates (`python -m bench.edd`) against the simulator's truth.

A simulated history (no noise) is replayed in occurrence order. Each shipment's state is folded event by event;
when one is delivered, what it teaches is added to its lane's statistics at once (the live function adds it
within its 60 s window). At every status change of a shipment under way, a prediction is made with the
statistics known at that moment and later compared with when the shipment was truly delivered:

* inside: the true delivery date (customer's local date) lies in the predicted earliest..latest window;
* MAE: hours between the most likely instant and the true delivery, next to the carrier's ETA for the same
  predictions, as the same kind of instant (:func:`~logistics.domain.eta.eta_instant`: the middle of its
  window, or local noon of its date; the ETA the shipment had when the prediction was made).

Per lane family (origin country -> destination continent) and in total. Predictions made while nothing was
learned yet (no statistics) are counted as "without statistics" and left out of the figures. The total is
written into bench/results/latest.json under "edd".
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.results import merge
from local_runtime.simulator import MemorySink, NoiseShares, simulate
from logistics.domain.eta import eta_instant
from logistics.domain.events import ShipmentEvent
from logistics.domain.lanes import LaneStats, delivery_stats, destination_of, lane_of, local_date, parse_utc, rollups
from logistics.domain.prediction import Prediction, predict
from logistics.domain.shipment import ShipmentState, step
from logistics.domain.status import Status

START = datetime(2026, 9, 1, tzinfo=UTC)


@dataclass
class Tally:
    made: int = 0
    none: int = 0
    inside: int = 0
    error_h: float = 0.0
    carrier_error_h: float = 0.0
    carrier_n: int = 0
    # "Trending late" against the truth: of the predictions with a promised date, how many were flagged, how
    # many were truly delivered after that date, and both.
    promised: int = 0
    flagged: int = 0
    late: int = 0
    flagged_and_late: int = 0

    def figures(self) -> dict[str, Any]:
        return {"predictions": self.made, "without_statistics": self.none,
                "inside_window": round(self.inside / self.made, 3) if self.made else None,
                "mae_hours": round(self.error_h / self.made, 1) if self.made else None,
                "carrier_eta_mae_hours": round(self.carrier_error_h / self.carrier_n, 1) if self.carrier_n else None,
                # precision: flagged ones that were late; recall: late ones that were flagged
                "trending_late_precision": round(self.flagged_and_late / self.flagged, 3) if self.flagged else None,
                "trending_late_recall": round(self.flagged_and_late / self.late, 3) if self.late else None,
                "late_share": round(self.late / self.promised, 3) if self.promised else None}


@dataclass
class Backtest:
    stats: dict[tuple[str, str], LaneStats] = field(default_factory=dict)  # (merchant, aggregate) -> learned
    pending: dict[str, list[tuple[Prediction, ShipmentState]]] = field(default_factory=lambda: defaultdict(list))
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def learn(self, state: ShipmentState) -> None:
        learned = delivery_stats(state)
        if learned is None:
            return
        for name in rollups(lane_of(state)):
            key = (state.merchant_id, name)
            self.stats[key] = self.stats[key].merge(learned) if key in self.stats else learned

    def predict(self, state: ShipmentState, now: datetime) -> None:
        names = rollups(lane_of(state))
        known = {n: self.stats[(state.merchant_id, n)] for n in names if (state.merchant_id, n) in self.stats}
        made = predict(state, known, now)
        if made is None:
            self.tallies[self.family(state)].none += 1
            self.tallies["all"].none += 1
            return
        self.pending[state.shipment_id].append((made, state))

    @staticmethod
    def family(state: ShipmentState) -> str:
        key = lane_of(state)
        return f"{key.origin}>{key.destination.split('/')[0]}"

    def settle(self, delivered: ShipmentState) -> None:
        at = parse_utc(delivered.milestones[Status.DELIVERED.value])
        local = local_date(at, destination_of(delivered))
        for made, state in self.pending.pop(delivered.shipment_id, []):
            for tally in (self.tallies[self.family(state)], self.tallies["all"]):
                tally.made += 1
                tally.inside += made.earliest <= local <= made.latest
                tally.error_h += abs((made.likely_at - at).total_seconds()) / 3600
                if made.carrier_eta is not None:
                    late = local.isoformat() > made.carrier_eta
                    tally.promised += 1
                    tally.flagged += made.trending_late
                    tally.late += late
                    tally.flagged_and_late += made.trending_late and late
                eta = eta_instant(state.eta, destination_of(state))
                if eta is not None:
                    tally.carrier_n += 1
                    tally.carrier_error_h += abs((eta - at).total_seconds()) / 3600


def run(events: int, seed: int, concurrency: int) -> dict[str, Any]:
    """Simulate ``events`` events and backtest every prediction; returns the figures per lane family."""
    sink = MemorySink()
    summary = simulate(sink, rate=None, count=events, seed=seed, shares=NoiseShares.none(), progress=False,
                       clock=START, concurrency=concurrency)
    timeline: list[ShipmentEvent] = []
    for key in summary.shipments:
        timeline += summary.shipment_events(key)
    timeline.sort(key=lambda e: e.sort_key)
    test = Backtest()
    states: dict[str, ShipmentState] = {}
    for event in timeline:
        before = states.get(event.shipment_id)
        state, _ = step(before, event)
        states[event.shipment_id] = state
        if before is not None and before.status == state.status:
            continue
        if state.status == Status.DELIVERED:
            test.settle(state)
            test.learn(state)
        else:
            test.predict(state, parse_utc(state.status_changed_at))
    return {family: tally.figures() for family, tally in sorted(test.tallies.items()) if tally.made or tally.none}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--concurrency", type=int, default=300)
    args = parser.parse_args(argv)
    figures = run(args.events, args.seed, args.concurrency)
    width = max(len(f) for f in figures)
    print(f"[edd] backtest on {args.events:,} simulated events (seed {args.seed})")
    print(f"  {'lane family':<{width}}  predictions  inside p10-p90  MAE h  carrier ETA MAE h")
    for family, f in figures.items():
        if not f["predictions"]:
            continue
        print(f"  {family:<{width}}  {f['predictions']:>11,}  {f['inside_window'] or 0:>14.1%}  "
              f"{f['mae_hours'] or 0:>5.1f}  {f['carrier_eta_mae_hours'] or 0:>17.1f}")
    if "all" in figures:
        total = figures["all"]
        print(f"  trending late: {total['late_share'] or 0:.1%} of predictions with a promised date were "
              f"delivered after it; flagged ones were late {total['trending_late_precision'] or 0:.1%} of the "
              f"time (precision), late ones were flagged {total['trending_late_recall'] or 0:.1%} (recall)")
        merge("edd", {"events": args.events, "seed": args.seed, **figures["all"]})
    print(json.dumps({"edd": figures["all"]} if "all" in figures else {}))


if __name__ == "__main__":
    main()
