"""The run loop: run the world, add noise, produce at a rate, and keep the ground truth (:func:`simulate`).

Determinism: every random choice comes from ``random.Random`` generators seeded with strings built
from the seed and the simulated clock's base (string seeds hash the same in every process, unlike
``hash()``), one generator per concern (journeys, devices, noise) so, e.g., changing noise shares does
not change the journeys. Simulated time is a discrete-event clock: events are produced in occurrence
order, and the wall clock only paces *when* they are sent. Same seed, same clock base and same
concurrency (by default derived from ``count``, or ``rate`` x ``duration``) therefore give the same
messages, byte for byte, whatever the pacing.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import IO, Any

from local_runtime.simulator.clock import DEFAULT_BACKFILL, LiveGate
from local_runtime.simulator.emission import SHIPMENT, WAREHOUSE, Ids
from local_runtime.simulator.noise import DUPLICATE, LATE, POISON, NoiseInjector, NoiseShares, Outgoing
from local_runtime.simulator.producer import as_sink
from local_runtime.simulator.progress import Progress, delivery_stats
from local_runtime.simulator.stream import EventStream, SimClock
from local_runtime.simulator.summary import PoisonRecord, Summary

DEFAULT_TOPICS = ("shipment-events", "warehouse-events")
# Measured (2,000 journeys / a 187-day run): sizes the default concurrency and clock lookback.
EVENTS_PER_JOURNEY = 18  # warehouse scans and customer returns included
SLOT_EVENTS_PER_DAY = 3.2  # events per simulated day from one journey slot
DEVICE_EVENTS_PER_DAY = 43.0  # replenishment, putaway, cycle counts, cold rooms: all warehouses


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
    live: LiveGate | None = None,
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
    elif live is not None:
        sim_clock = SimClock(live.now() - DEFAULT_BACKFILL)
    else:
        sim_clock = SimClock(lookback=default_lookback(count, rate, duration, slots))
    stream = EventStream(seed, sim_clock, slots)
    source = iter(stream)
    noise_rng = random.Random(f"{seed}:{sim_clock.seed_material()}:noise")
    injector = NoiseInjector(shares, noise_rng, Ids(noise_rng))
    summary = Summary(seed=seed, clock_base=sim_clock.base, topics=topics, shares=shares)
    meter = Progress(sys.stderr if progress is True else (progress or None))
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
    if live is not None:
        def stopping() -> bool:
            return (stop is not None and stop()) or (deadline is not None and monotonic() >= deadline)

        def waiting() -> None:
            sink.poll(0)  # serve delivery reports while the world waits for the wall clock
            meter.update(summary, monotonic() - started, sink)

        source = live.gated(source, stopping, waiting)
        meter.note = live.describe

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
                    summary.interrupted = bool(stop is not None and stop())  # a live wait ended by a stop
                    break
                continue
            paced_send(out)
    except KeyboardInterrupt:
        summary.interrupted = True
    try:
        # Late events still owed: a valid event is never lost. Asked to stop, send them at once, unpaced.
        drain_send = send if summary.interrupted else paced_send
        for out in injector.drain():
            drain_send(out)
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
