"""Driving a mapping (local_runtime.esm.poll_loop): run_until, run_until_idle and the background thread,
with a scripted fake source."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from local_runtime.esm.counters import MappingCounters
from local_runtime.esm.poll_loop import PollLoop
from local_runtime.esm.spec import MappingSpec


class Scripted(PollLoop):
    """poll_once returns the scripted progress values, then 0; busy while ``busy_polls`` remain."""

    sync_pause_s = 0.001

    def __init__(self, progress: list[int], busy_polls: int = 0, enabled: bool = True) -> None:
        self.name = "scripted"
        self.spec = MappingSpec(name="scripted", function_logical_id="F", kind="DynamoDB", enabled=enabled)
        self.counters = MappingCounters()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.progress = list(progress)
        self.busy_polls = busy_polls
        self.polls = 0
        self.idle_calls = 0

    def poll_once(self) -> int:
        self.polls += 1
        if self.busy_polls:
            self.busy_polls -= 1
        return self.progress.pop(0) if self.progress else 0

    def _busy(self) -> bool:
        return self.busy_polls > 0

    def _on_idle(self) -> None:
        self.idle_calls += 1

    def status(self) -> dict[str, Any]:
        return {"polls": self.polls}


def test_run_until_idle_returns_at_the_first_quiet_poll_without_an_idle_period() -> None:
    m = Scripted([3, 0, 2])
    m.run_until_idle(timeout=5)
    assert m.polls == 2 and m.idle_calls == 1


def test_progress_restarts_the_idle_period() -> None:
    m = Scripted([3, 0, 2])
    m.run_until_idle(timeout=5, idle_s=0.05)
    assert m.polls > 4 and not m.progress and m.idle_calls == 1


def test_run_until_idle_waits_while_busy_and_for_the_quiet_period() -> None:
    m = Scripted([], busy_polls=5)
    started = time.monotonic()
    m.run_until_idle(timeout=5, idle_s=0.05)
    assert m.polls > 5 and time.monotonic() - started >= 0.05


def test_run_until_idle_times_out_with_the_status() -> None:
    m = Scripted([], busy_polls=10**9)
    with pytest.raises(TimeoutError, match="not idle"):
        m.run_until_idle(timeout=0.05)


def test_run_until_idle_and_start_do_nothing_when_disabled() -> None:
    m = Scripted([1], enabled=False)
    m.run_until_idle(timeout=1)
    m.start()
    assert m.polls == 0 and not m.running


def test_run_until_polls_until_the_predicate_holds() -> None:
    m = Scripted([])
    m.run_until(lambda: m.polls >= 3, timeout=5)
    assert m.polls == 3
    with pytest.raises(TimeoutError, match="condition not reached"):
        m.run_until(lambda: False, timeout=0.02)


def test_background_thread_survives_poll_errors_and_stops() -> None:
    class Failing(Scripted):
        def poll_once(self) -> int:
            self.polls += 1
            raise RuntimeError("broken source")

    m = Failing([])
    m.start()
    deadline = time.monotonic() + 5
    while m.counters.last_error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert m.running and m.counters.last_error == "RuntimeError: broken source"
    m._stop_loop(timeout=5)
    assert not m.running
