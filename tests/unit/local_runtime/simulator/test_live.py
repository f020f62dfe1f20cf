"""Backfill then live (``logistics up --simulate``): the history up to now at once, then events as they happen.

The wall clock is a fake that only moves when the simulator sleeps, so the test asserts on what was produced
(occurrence times against the clock at sending time), never on timing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from local_runtime.simulator import MemorySink, NoiseShares, simulate
from local_runtime.simulator.clock import BACKFILL, LIVE, LiveGate
from logistics.domain.events import to_utc

NOW = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)


class FakeWall:
    """A wall clock that advances only by the simulator's sleeps."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class RecordingSink(MemorySink):
    """Remembers the wall time each message was sent at."""

    def __init__(self, wall: FakeWall) -> None:
        super().__init__()
        self.wall = wall
        self.sent_at: list[datetime] = []

    def send(self, topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        super().send(topic, key, value, headers)
        self.sent_at.append(self.wall.at)


def occurred(value: bytes) -> datetime:
    return datetime.fromisoformat(to_utc(json.loads(value)["occurred_at"]).replace("Z", "+00:00"))


def run_live(live_events: int) -> tuple[LiveGate, RecordingSink, FakeWall, int]:
    wall = FakeWall(NOW)
    gate = LiveGate(now=wall.now, sleep=wall.sleep)
    sink = RecordingSink(wall)
    backfilled: list[int] = []

    def stop() -> bool:
        if gate.phase == LIVE and not backfilled:
            backfilled.append(len(sink.records))
        return bool(backfilled) and len(sink.records) >= backfilled[0] + live_events

    simulate(sink, rate=None, seed=3, concurrency=40, progress=False, shares=NoiseShares.none(), live=gate,
             stop=stop, sleep=wall.sleep)
    return gate, sink, wall, backfilled[0]


def test_backfill_ends_at_now_and_live_events_are_sent_as_they_happen() -> None:
    gate, sink, _, backfill = run_live(live_events=30)
    assert gate.phase == LIVE and gate.live_since is not None
    times = [occurred(r.value) for r in sink.records if r.topic == "shipment-events"]
    assert min(times) >= NOW - timedelta(days=14)  # the history starts 14 days back
    # The backfill covers the history up to now: its newest event happened shortly before now.
    history = [occurred(r.value) for r in sink.records[:backfill]]
    assert NOW - timedelta(hours=1) < max(history) <= NOW
    assert all(sent == NOW for sent in sink.sent_at[:backfill])  # at full speed: the clock never moved
    # Live: nothing is sent before it happens, and each event goes out within seconds of its occurrence.
    for record, sent in zip(sink.records[backfill:], sink.sent_at[backfill:], strict=True):
        at = occurred(record.value)
        assert at <= sent < at + timedelta(seconds=1)
    assert sink.sent_at[-1] > NOW


def test_open_shipments_after_the_backfill_have_etas_ahead() -> None:
    _, sink, _, backfill = run_live(live_events=1)
    status: dict[str, str] = {}
    eta: dict[str, str] = {}  # the newest ETA a shipment's events gave, as the state keeps it
    for record in sink.records[:backfill]:
        payload = json.loads(record.value)
        if record.topic == "shipment-events":
            status[payload["shipment_id"]] = payload["status"]
            if payload.get("eta"):
                eta[payload["shipment_id"]] = payload["eta"]["date"]
    terminal = {"DELIVERED", "RETURNED", "CANCELLED", "LOST"}
    open_etas = [eta[s] for s, st in status.items() if st not in terminal and s in eta]
    assert len(open_etas) >= 10
    today = NOW.date().isoformat()
    assert sum(date >= today for date in open_etas) / len(open_etas) >= 0.75


def test_gate_describes_its_phase() -> None:
    wall = FakeWall(NOW)
    gate = LiveGate(now=wall.now, sleep=wall.sleep)
    assert gate.phase == BACKFILL and gate.describe() == "backfill starting"
    gate.backfill_from = NOW - timedelta(days=10)
    assert gate.wait_for(NOW - timedelta(days=5), lambda: False)
    assert gate.describe().startswith("backfill 50%")
    assert gate.wait_for(NOW + timedelta(seconds=3), lambda: False)
    assert wall.at == NOW + timedelta(seconds=3)
    assert gate.describe().startswith("live since 15:30:00Z (backfilled 1 events)")
    assert not gate.wait_for(wall.at + timedelta(hours=1), lambda: True)  # a stop ends the wait
