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


class Finishing(Scripted):
    """Each poll blocks until ``release`` is set (an invocation in flight); ``_finish_stop`` is recorded."""

    def __init__(self) -> None:
        super().__init__([])
        self.in_poll = threading.Event()
        self.release = threading.Event()
        self.finished_by: list[str] = []

    def poll_once(self) -> int:
        self.polls += 1
        self.in_poll.set()
        assert self.release.wait(10)
        return 1

    def _finish_stop(self) -> None:
        self.finished_by.append(threading.current_thread().name)


def test_stop_loop_finishes_in_the_caller_when_the_poll_ends_in_time() -> None:
    m = Finishing()
    m.start()
    assert m.in_poll.wait(5)
    threading.Timer(0.05, m.release.set).start()
    assert m._stop_loop(timeout=5) is True
    assert not m.running and m.finished_by == []  # the caller runs _finish_stop (as stop() does)


def test_stop_loop_gives_up_at_its_timeout_and_the_loop_thread_finishes_after_its_poll() -> None:
    m = Finishing()
    m.start()
    assert m.in_poll.wait(5)
    started = time.monotonic()
    assert m._stop_loop(timeout=0.05) is False
    assert time.monotonic() - started < 1
    assert m.running and m.finished_by == []  # the invocation is still in flight: nothing saved yet
    m.release.set()
    deadline = time.monotonic() + 5
    while m.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not m.running and m.polls == 1  # no new poll after the stop
    assert m.finished_by == ["esm-scripted"]  # saved by the loop thread, once its poll returned


def test_start_after_a_stop_that_gave_up_waits_for_the_old_poll_first() -> None:
    m = Finishing()
    m.start()
    assert m.in_poll.wait(5)
    assert m._stop_loop(timeout=0.01) is False
    threading.Timer(0.1, m.release.set).start()
    m.start()  # joins the old thread (which finishes its stop), then polls again
    assert m.finished_by == ["esm-scripted"] and m.running
    assert m._stop_loop(timeout=5) is True


def test_request_stop_returns_at_once_and_the_loop_ends_after_its_poll() -> None:
    m = Finishing()
    m.start()
    assert m.in_poll.wait(5)
    m.request_stop()
    assert m.running
    m.release.set()
    assert m._stop_loop(timeout=5) is True and m.polls == 1
