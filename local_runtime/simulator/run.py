"""The simulator driver: run the world, add noise, produce at a rate, report, and keep the ground truth.

Determinism: every random choice comes from ``random.Random`` generators seeded with strings built
from the seed and the simulated clock's base (string seeds hash the same in every process, unlike
``hash()``), one generator per concern (journeys, devices, noise) so, e.g., changing noise shares does
not change the journeys. Simulated time is a discrete-event clock: events are produced in occurrence
order, and the wall clock only paces *when* they are sent. Same seed, same clock base and same
concurrency (by default derived from ``count``, or ``rate`` x ``duration``) therefore give the same
messages, byte for byte, whatever the pacing.

:func:`simulate` is the API; :func:`main` is the CLI (``logistics simulate``).
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import itertools
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from local_runtime.simulator.devices import ScanGuns, Task, WarehouseFloor
from local_runtime.simulator.journeys import Journey, JourneyPlanner
from local_runtime.simulator.noise import DUPLICATE, LATE, POISON, NoiseInjector, NoiseShares, Outgoing
from local_runtime.simulator.producer import DeliveryStats, JsonLinesSink, KafkaSink, Sink, TeeSink, as_sink
from local_runtime.simulator.world import EPOCH, SHIPMENT, WAREHOUSE, Emission, Ids, World, epoch_ms
from logistics.contracts import to_domain
from logistics.domain import shipment as shipment_domain
from logistics.domain import warehouse as warehouse_domain
from logistics.domain.events import ShipmentEvent, WarehouseEvent, shipment_view
from logistics.domain.shipment import ShipmentState
from logistics.domain.warehouse import WarehouseState

DEFAULT_TOPICS = ("shipment-events", "warehouse-events")
# Measured (2,000 journeys / a 187-day run): sizes the default concurrency and clock lookback.
EVENTS_PER_JOURNEY = 18  # warehouse scans and customer returns included
SLOT_EVENTS_PER_DAY = 3.2  # events per simulated day from one journey slot
DEVICE_EVENTS_PER_DAY = 43.0  # replenishment, putaway, cycle counts, cold rooms: all warehouses


class SimClock:
    """Simulated time. ``base`` is where it starts; ``now`` follows the events as they are produced.

    Inject one (or a datetime) into :func:`simulate` for reproducible timestamps; the default base is
    the current time, floored to the minute, minus ``lookback`` so the events lie in the past
    (:func:`simulate` sizes the lookback to the run, see :func:`default_lookback`).
    """

    def __init__(self, base: datetime | None = None, *, lookback: timedelta = timedelta(days=30)) -> None:
        if base is None:
            base = (datetime.now(UTC) - lookback).replace(second=0, microsecond=0)
        if base.tzinfo is None:
            raise ValueError("the clock base must be timezone-aware")
        self.base = base.astimezone(UTC).replace(microsecond=0)
        self.now = self.base

    def seed_material(self) -> str:
        return self.base.strftime("%Y%m%dT%H%M%SZ")


class EventStream:
    """The valid events of the simulated world, in occurrence order (a discrete-event simulation).

    ``concurrency`` journeys run at any time: when one ends, the next order is placed. Devices (stock
    replenishment, cycle counts, cold rooms) run as recurring tasks. Iterating yields emissions.
    """

    def __init__(self, seed: int, clock: SimClock, concurrency: int, world: World | None = None) -> None:
        self.clock = clock
        self.world = world or World()
        material = f"{seed}:{clock.seed_material()}"
        journey_rng = random.Random(f"{material}:journeys")
        device_rng = random.Random(f"{material}:devices")
        self.guns = {wid: ScanGuns(w, journey_rng, Ids(journey_rng)) for wid, w in self.world.warehouses.items()}
        self.planner = JourneyPlanner(self.world, journey_rng, Ids(journey_rng), self.guns)
        self.floor = WarehouseFloor(self.world.merchants, self.world.warehouses, device_rng, Ids(device_rng))
        self.rng = journey_rng
        self._heap: list[tuple[int, int, Emission | Task]] = []
        self._seq = itertools.count()
        self.journeys_started = 0
        self.scenarios: dict[str, str] = {}  # shipment id -> scenario
        for at, task in self.floor.start(clock.base):
            self._push(at, task)
        # Stagger the first orders over half a day so journeys are not in lock step.
        for _ in range(max(1, concurrency)):
            start = clock.base + timedelta(seconds=self.rng.randint(60, 12 * 3600))
            self._push(start, self._start_journey)

    def _push(self, at: datetime, item: Emission | Task) -> None:
        heapq.heappush(self._heap, (epoch_ms(at), next(self._seq), item))

    def _start_journey(self, at: datetime) -> tuple[list[Emission], list[tuple[datetime, Task]]]:
        journey: Journey = self.planner.plan(at)
        self.journeys_started += 1
        self.scenarios.update(journey.scenarios)
        # Keep concurrency constant: the next order comes in once this journey is over.
        nxt = journey.ends_at + timedelta(seconds=self.rng.randint(60, 3 * 3600))
        return journey.emissions, [(nxt, self._start_journey)]

    def __iter__(self) -> Iterator[Emission]:
        while self._heap:
            ms, _, item = heapq.heappop(self._heap)
            if isinstance(item, Emission):
                self.clock.now = item.at
                self.floor.observe(item)  # the floor's stock follows events in occurrence order
                yield item
                continue
            emissions, follow_ups = item(EPOCH + timedelta(milliseconds=ms))
            for emission in emissions:
                self._push(emission.at, emission)
            for at, task in follow_ups:
                self._push(at, task)


# --------------------------------------------------------------------------------------------------
# Summary and ground truth
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoisonRecord:
    """A poison message as produced: what kind, where, and a fingerprint of its bytes."""

    kind: str
    topic: str
    key: str | None
    size: int
    sha256: str
    detail: str


@dataclass
class Summary:
    """What a run produced, with the ground truth a test needs to check the platform's end state.

    ``shipments`` maps ``(merchant_id, shipment_id)`` to the distinct valid events about the shipment
    (its shipment events and the warehouse events naming it), in the order they were produced;
    ``warehouses`` maps ``(merchant_id, warehouse_id)`` to its valid warehouse events. Folding them
    (:meth:`expected_shipment_states`) gives the state the platform must end with, whatever the
    duplicates and late arrivals did on the way.
    """

    seed: int
    clock_base: datetime
    topics: tuple[str, str]
    shares: NoiseShares
    sim_end: datetime | None = None
    produced: int = 0
    valid: int = 0  # distinct valid events (each sent once, or first copy of a duplicate)
    duplicates: int = 0
    late: int = 0
    poison: int = 0
    per_topic: Counter[str] = field(default_factory=Counter)
    poison_by_kind: Counter[str] = field(default_factory=Counter)
    journeys: int = 0
    elapsed_s: float = 0.0
    interrupted: bool = False  # ended by Ctrl-C, SIGTERM or ``stop()`` rather than count/duration
    delivered: int | None = None  # Kafka delivery reports (None for sinks without them)
    delivery_failed: int | None = None
    undelivered: int = 0  # still queued when the final flush timed out
    shipments: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    warehouses: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    poison_events: list[PoisonRecord] = field(default_factory=list)
    scenarios: dict[str, str] = field(default_factory=dict)  # shipment id -> journey scenario

    @property
    def rate(self) -> float:
        """Achieved messages per second of wall time."""
        return self.produced / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def shipment_events(self, key: tuple[str, str]) -> list[ShipmentEvent]:
        """Domain events of one shipment, as the ingest folds them (warehouse events via their view)."""
        events: list[ShipmentEvent] = []
        for payload in self.shipments.get(key, ()):
            event = to_domain(payload)
            if isinstance(event, WarehouseEvent):
                view = shipment_view(event)
                if view is not None:
                    events.append(view)
            else:
                events.append(event)
        return events

    def expected_shipment_states(self) -> dict[tuple[str, str], ShipmentState]:
        """The state every shipment must end in (folded from the ground truth)."""
        states = {}
        for key in self.shipments:
            state = shipment_domain.fold(self.shipment_events(key)).state
            if state is not None:
                states[key] = state
        return states

    def expected_warehouse_states(self) -> dict[tuple[str, str], WarehouseState]:
        states = {}
        for key, payloads in self.warehouses.items():
            events = [e for e in map(to_domain, payloads) if isinstance(e, WarehouseEvent)]
            state = warehouse_domain.fold(events).state
            if state is not None:
                states[key] = state
        return states

    def to_dict(self, *, truth: bool = False) -> dict[str, Any]:
        """JSON-ready summary; with ``truth`` also the ground truth (can be large)."""
        out: dict[str, Any] = {
            "seed": self.seed,
            "clock_base": self.clock_base.isoformat(),
            "sim_end": self.sim_end.isoformat() if self.sim_end else None,
            "topics": list(self.topics),
            "produced": self.produced,
            "valid": self.valid,
            "duplicates": self.duplicates,
            "late": self.late,
            "poison": self.poison,
            "per_topic": dict(self.per_topic),
            "poison_by_kind": dict(self.poison_by_kind),
            "journeys": self.journeys,
            "shipments": len(self.shipments) if self.shipments else None,  # None: no ground truth kept
            "elapsed_s": round(self.elapsed_s, 3),
            "rate": round(self.rate, 1),
            "interrupted": self.interrupted,
            "delivered": self.delivered,
            "delivery_failed": self.delivery_failed,
            "undelivered": self.undelivered,
        }
        if truth:
            out["truth"] = {
                "shipments": [
                    {"merchant_id": m, "shipment_id": s, "scenario": self.scenarios.get(s), "events": events}
                    for (m, s), events in self.shipments.items()
                ],
                "warehouses": [
                    {"merchant_id": m, "warehouse_id": w, "events": events}
                    for (m, w), events in self.warehouses.items()
                ],
                "poison": [vars(p) for p in self.poison_events],
            }
        return out


# --------------------------------------------------------------------------------------------------
# Progress line
# --------------------------------------------------------------------------------------------------


class _Progress:
    """One status line on stderr, rewritten in place on a terminal (every few seconds otherwise)."""

    def __init__(self, stream: IO[str] | None) -> None:
        self.stream = stream
        self.tty = bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())
        self.interval = 0.25 if self.tty else 5.0
        self.next_at = 0.0
        self.width = 0

    def line(self, s: Summary, elapsed: float, sink: Sink) -> str:
        rate = s.produced / elapsed if elapsed > 0 else 0.0
        stats = delivery_stats(sink)
        delivered = f"  delivered {stats.delivered:,}" if stats is not None else ""
        sim = f"  sim {s.sim_end:%Y-%m-%d %H:%MZ}" if s.sim_end else ""
        return (f"simulate: {s.produced:,} produced  {rate:,.0f}/s  dup {s.duplicates:,}  late {s.late:,}  "
                f"poison {s.poison:,}{delivered}{sim}")

    def update(self, s: Summary, elapsed: float, sink: Sink, *, final: bool = False) -> None:
        if self.stream is None or (not final and elapsed < self.next_at):
            return
        self.next_at = elapsed + self.interval
        text = self.line(s, elapsed, sink)
        if self.tty:
            pad = max(0, self.width - len(text))
            self.width = len(text)
            self.stream.write("\r" + text + " " * pad + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


# --------------------------------------------------------------------------------------------------
# simulate()
# --------------------------------------------------------------------------------------------------


def delivery_stats(sink: Sink) -> DeliveryStats | None:
    """Delivery reports of the Kafka sink, also when it is one branch of a :class:`TeeSink`."""
    if isinstance(sink, KafkaSink):
        return sink.stats
    if isinstance(sink, TeeSink):
        return next((s for s in map(delivery_stats, sink.sinks) if s is not None), None)
    return None


def default_lookback(count: int | None, rate: float | None, duration: float | None,
                     concurrency: int) -> timedelta:
    """How far back to start the simulated clock so a bounded run ends a little before now.

    Each of the ``concurrency`` slots runs one journey after another and the warehouses add their own
    activity, so a simulated day holds about ``concurrency * SLOT_EVENTS_PER_DAY +
    DEVICE_EVENTS_PER_DAY`` events. Occurrence times in the future would look odd on a dashboard and
    confuse "no update for N days" rules.
    """
    expected = count if count is not None else (rate * duration if rate and duration else None)
    if expected is None:
        return timedelta(days=30)  # open-ended run: it will reach the present after a while
    # 0.95: the staggered first orders make the first days denser than the steady state.
    days = expected / (concurrency * SLOT_EVENTS_PER_DAY + DEVICE_EVENTS_PER_DAY) * 0.95 + 0.75
    return timedelta(days=min(max(days, 1.0), 365.0))


def default_concurrency(count: int | None, rate: float | None, duration: float | None) -> int:
    """Active journeys: about four journey lifetimes per slot in a bounded run, so most journeys finish.

    An open-ended run (``logistics up``) gets many slots instead: simulated time then advances slowly
    (a simulated day holds ``slots * SLOT_EVENTS_PER_DAY`` events), so starting 30 days back it reaches
    the present only after a long while (about 1.6 hours at 50 events/s).
    """
    expected = count if count is not None else (rate * duration if rate and duration else None)
    if expected is None:
        return max(300, min(5000, round((rate or 0) * 60)))
    return max(3, min(3000, round(expected / (EVENTS_PER_JOURNEY * 4))))


def simulate(
    producer_or_sink: Any,
    *,
    rate: float | None,
    count: int | None = None,
    duration: float | None = None,
    seed: int = 0,
    shares: NoiseShares = NoiseShares(duplicates=0.02, late=0.02, poison=0.01),  # noqa: B008 (frozen)
    topics: tuple[str, str] = DEFAULT_TOPICS,
    progress: bool | IO[str] = True,
    clock: SimClock | datetime | None = None,
    concurrency: int | None = None,
    truth: bool = True,
    stop: Callable[[], bool] | None = None,
    flush_timeout: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Summary:
    """Produce simulated shipment and warehouse events (with noise) and return what was produced.

    ``producer_or_sink``: a :class:`~local_runtime.simulator.producer.Sink`, a confluent-kafka
    ``Producer`` or a bootstrap-servers string. ``rate``: messages per second (None or 0: as fast as
    possible). Stops after ``count`` messages exactly, after ``duration`` seconds, when ``stop()``
    returns True, on Ctrl-C, or never. ``topics``: (shipment topic, warehouse topic). ``clock``: the
    simulated clock or its base (same seed + same base = same bytes). ``truth=False`` keeps no ground
    truth (long runs). The sink is flushed before returning.
    """
    if count is not None and count < 0:
        raise ValueError("count must be >= 0")
    sink = as_sink(producer_or_sink)
    slots = concurrency or default_concurrency(count, rate, duration)
    if isinstance(clock, SimClock):
        sim_clock = clock
    elif clock is not None:
        sim_clock = SimClock(clock)
    else:
        sim_clock = SimClock(lookback=default_lookback(count, rate, duration, slots))
    stream = EventStream(seed, sim_clock, slots)
    source = iter(stream)
    noise_rng = random.Random(f"{seed}:{sim_clock.seed_material()}:noise")
    injector = NoiseInjector(shares, noise_rng, Ids(noise_rng))
    summary = Summary(seed=seed, clock_base=sim_clock.base, topics=topics, shares=shares)
    meter = _Progress(sys.stderr if progress is True else (progress or None))
    topic_of = {SHIPMENT: topics[0], WAREHOUSE: topics[1]}
    pace = rate if rate and rate > 0 else None

    def send(out: Outgoing) -> None:
        topic = topic_of[out.kind]
        sink.send(topic, out.key, out.value, out.headers)
        summary.produced += 1
        summary.per_topic[topic] += 1
        if out.noise == POISON:
            summary.poison += 1
            summary.poison_by_kind[out.poison_kind or "?"] += 1
            if truth:
                summary.poison_events.append(PoisonRecord(
                    out.poison_kind or "?", topic, out.key.decode() if out.key is not None else None,
                    len(out.value), hashlib.sha256(out.value).hexdigest(), out.detail or ""))
            return
        if out.noise == DUPLICATE:
            # A copy is always sent after its original (the injector orders them), so no id set is needed.
            summary.duplicates += 1
            return
        summary.valid += 1
        summary.late += out.noise == LATE
        payload = out.payload or {}
        if truth:
            if payload.get("shipment_id"):
                summary.shipments.setdefault((payload["merchant_id"], payload["shipment_id"]), []).append(payload)
            if out.kind == WAREHOUSE:
                summary.warehouses.setdefault((payload["merchant_id"], payload["warehouse_id"]), []).append(payload)

    started = monotonic()
    deadline = started + duration if duration is not None else None

    def paced_send(out: Outgoing) -> None:
        now = monotonic()
        if pace is not None:
            ahead = summary.produced / pace - (now - started)
            if ahead > 0.002:  # sleeping for less is mostly scheduler noise
                sink.poll(0)
                sleep(ahead)
                now = monotonic()
        send(out)
        if summary.produced % 1000 == 0:
            sink.poll(0)  # serve delivery reports so their queue stays short
        summary.sim_end = sim_clock.now
        meter.update(summary, now - started, sink)

    try:
        while True:
            if stop is not None and stop():
                summary.interrupted = True
                break
            if deadline is not None and monotonic() >= deadline:
                break
            out = injector.pop()
            # Stop exactly at ``count``: every message sent or still held back counts against it.
            if count is not None and summary.produced + injector.held >= count:
                break
            if out is None:
                if not injector.pull(source):
                    break
                continue
            paced_send(out)
    except KeyboardInterrupt:
        summary.interrupted = True
    try:
        for out in injector.drain():  # late events still owed: a valid event is never lost
            paced_send(out)
        summary.undelivered = sink.flush(flush_timeout)
    except KeyboardInterrupt:
        summary.interrupted = True
        summary.undelivered = sink.flush(5.0)
    summary.elapsed_s = monotonic() - started
    summary.journeys = stream.journeys_started
    summary.scenarios = dict(stream.scenarios) if truth else {}
    stats = delivery_stats(sink)
    if stats is not None:
        summary.delivered = stats.delivered
        summary.delivery_failed = stats.failed
    meter.update(summary, summary.elapsed_s, sink, final=True)
    return summary


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError("a share is a fraction in [0, 1)")
    return value


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the clock base with a UTC offset, e.g. 2026-11-01T00:00:00Z")
    return moment


DESCRIPTION = ("Produce simulated shipment and warehouse events (with duplicates, late and poison events) "
               "to Kafka.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's options, added to any parser (``logistics simulate`` hooks in with this)."""
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                        help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS)")
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second; 0 = as fast as possible")
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--count", type=int, help="stop after exactly this many messages")
    stop.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=0, help="same seed and --start give the same bytes")
    parser.add_argument("--start", type=_instant,
                        help="simulated clock base, ISO 8601 with offset (default: early enough that the run "
                             "ends before now)")
    parser.add_argument("--duplicates", type=_share, default=0.02, help="share of duplicate messages")
    parser.add_argument("--late", type=_share, default=0.02, help="share of late (out-of-order) events")
    parser.add_argument("--poison", type=_share, default=0.01, help="share of poison messages")
    parser.add_argument("--concurrency", type=int, help="shipments in flight at once (default: from the size)")
    parser.add_argument("--shipment-topic", default=DEFAULT_TOPICS[0])
    parser.add_argument("--warehouse-topic", default=DEFAULT_TOPICS[1])
    parser.add_argument("--compression", default=None, help="producer compression.type (default lz4)")
    parser.add_argument("--output", help="write JSON lines to this file ('-' = stdout) instead of Kafka")
    parser.add_argument("--truth", metavar="PATH", help="write the summary with the ground truth as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logistics simulate", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``logistics simulate``: returns the process exit code."""
    return run_from_args(build_parser().parse_args(argv))


def run_from_args(args: argparse.Namespace) -> int:
    """Run with parsed :func:`add_arguments` options; prints the summary JSON; returns the exit code."""
    if args.output is None and not args.bootstrap_servers:
        print("simulate: set --bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS (or use --output FILE)",
              file=sys.stderr)
        return 2
    try:
        shares = NoiseShares(duplicates=args.duplicates, late=args.late, poison=args.poison)
    except ValueError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    if args.output is not None:
        sink: Any = JsonLinesSink.open(args.output)
    else:
        config = {"compression.type": args.compression} if args.compression else None
        sink = KafkaSink(args.bootstrap_servers, config=config)
    # SIGTERM (e.g. from a supervisor) ends the run like Ctrl-C: held-back events go out, then a flush.
    stopping = threading.Event()
    try:
        previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        summary = simulate(
            sink, rate=args.rate, count=args.count, duration=args.duration, seed=args.seed, shares=shares,
            topics=(args.shipment_topic, args.warehouse_topic), progress=not args.no_progress,
            clock=args.start, concurrency=args.concurrency, truth=args.truth is not None, stop=stopping.is_set)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if isinstance(sink, JsonLinesSink):
            sink.close()
    report = summary.to_dict()
    print(json.dumps(report), file=sys.stderr if args.output == "-" else sys.stdout)
    if args.truth:
        with open(args.truth, "w", encoding="utf-8") as fh:
            json.dump(summary.to_dict(truth=True), fh, ensure_ascii=False)
    if summary.delivery_failed or summary.undelivered:
        print(f"simulate: {summary.delivery_failed or 0} delivery failures, {summary.undelivered} undelivered",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
