"""Backfill, then live: the simulated world caught up with the wall clock (``logistics up --simulate``).

A simulator run that starts in the past produces its history at full speed (the *backfill*); once the next
event would lie in the future it waits for the wall clock instead, so from then on every event is sent when
it happens: updates are timestamped now, ETAs lie ahead and "late" means late. :class:`LiveGate` makes that
choice per event and records the phase for the status line (:meth:`LiveGate.describe`).

Waiting is the only thing the wall clock changes: which events exist and their contents still come from the
seed and the clock base alone, so a live run and a backfill-only run produce the same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from local_runtime.simulator.emission import Emission

BACKFILL = "backfill"
LIVE = "live"
DEFAULT_BACKFILL = timedelta(days=14)
# Longest single sleep while waiting for an event's time: stop requests are noticed within it.
_MAX_NAP_S = 0.25


def wall_now() -> datetime:
    """The current UTC time (the default wall clock)."""
    return datetime.now(UTC)


@dataclass
class LiveGate:
    """Holds each simulated event until the wall clock reaches its occurrence time.

    ``now`` and ``sleep`` are injectable so tests can run the live phase on a fake clock. ``on_wait`` is
    called between naps (the driver serves its producer's delivery reports there).
    """

    now: Callable[[], datetime] = wall_now
    sleep: Callable[[float], None] = time.sleep
    phase: str = BACKFILL
    started_at: datetime = field(default_factory=wall_now)  # wall time the run began
    backfill_from: datetime | None = None  # simulated time the history starts at
    live_since: datetime | None = None  # wall time the first event had to wait for its moment
    sim_now: datetime | None = None  # occurrence time of the newest event let through
    backfilled: int = 0  # events let through without waiting

    def __post_init__(self) -> None:
        self.started_at = self.now()

    def wait_for(self, at: datetime, stop: Callable[[], bool]) -> bool:
        """Return once the wall clock reached ``at`` (True), or when ``stop()`` says so first (False)."""
        while True:
            ahead = (at - self.now()).total_seconds()
            if ahead <= 0:
                break
            if self.phase == BACKFILL:
                self.phase, self.live_since = LIVE, self.now()
            if stop():
                return False
            self.sleep(min(ahead, _MAX_NAP_S))
        if self.phase == BACKFILL:
            self.backfilled += 1
        self.sim_now = at
        return True

    def gated(self, source: Iterator[Emission], stop: Callable[[], bool],
              on_wait: Callable[[], None] = lambda: None) -> Iterator[Emission]:
        """``source`` with every emission held until its time; ends early when ``stop()`` turns True."""
        def waiting_stop() -> bool:
            on_wait()
            return stop()

        for emission in source:
            if self.backfill_from is None:
                self.backfill_from = emission.at
            if not self.wait_for(emission.at, waiting_stop):
                return
            yield emission

    def describe(self) -> str:
        """One phrase for the status line: how far the backfill got, or since when traffic is live."""
        if self.phase == LIVE and self.live_since is not None:
            return f"live since {self.live_since:%H:%M:%SZ} (backfilled {self.backfilled:,} events)"
        if self.sim_now is None or self.backfill_from is None:
            return "backfill starting"
        span = (self.started_at - self.backfill_from).total_seconds()
        done = (self.sim_now - self.backfill_from).total_seconds()
        share = min(1.0, done / span) if span > 0 else 1.0
        return f"backfill {share:.0%} (simulated {self.sim_now:%Y-%m-%d %H:%MZ}, then live)"
