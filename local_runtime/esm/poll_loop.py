"""Driving a mapping: a background thread (``start``/``stop``) or synchronous polling for tests
(``run_until``, ``run_until_idle``)."""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from local_runtime.esm.counters import MappingCounters
from local_runtime.esm.spec import MappingSpec

__all__ = ["PollLoop"]

log = logging.getLogger(__name__)


class PollLoop(ABC):
    """Base of a mapping: ``start()`` runs ``poll_once()`` in a daemon thread until ``_stop_loop()``;
    ``run_until`` and ``run_until_idle`` poll in the caller's thread.

    The host class sets ``name``, ``spec``, ``counters``, ``_stop`` and ``_thread`` in its constructor and
    provides ``poll_once()`` (the number of records it read or invoked; 0 = nothing happened) and
    ``_busy()``; it may refine ``_poll_sync``, ``_caught_up``, ``_on_idle`` and ``_finish_stop``.

    Stopping with a deadline: :meth:`_stop_loop` waits at most its ``timeout`` for the current poll. When the
    poll (an invocation) is still running then, the loop thread itself runs ``_finish_stop()`` once that
    invocation returns, so the position saved is always that of resolved records: a batch in flight at stop
    either completes and is committed, or is not committed at all.
    """

    name: str
    spec: MappingSpec
    counters: MappingCounters
    _stop: threading.Event
    _thread: threading.Thread | None
    thread_prefix = "esm"
    idle_wait_s = 0.0  # pause of the thread after a poll that found nothing (0: poll_once waits by itself)
    sync_pause_s = 0.0  # the same for run_until / run_until_idle
    default_idle_s = 0.0  # how long run_until_idle wants to see nothing new before it returns
    # Hand-off between a stop that stopped waiting and the loop thread (see _stop_loop / _run).
    _loop_done = False
    _late_finish = False
    _handoff = threading.Lock()  # replaced per instance in start(); class-level only as a safe default

    @abstractmethod
    def poll_once(self) -> int:
        """One round of polling and invoking; returns how many records were read or invoked."""

    @abstractmethod
    def status(self) -> dict[str, Any]:
        """A snapshot for a status display (safe to call from another thread)."""

    @abstractmethod
    def _busy(self) -> bool:
        """True while records are buffered or a batch is being retried."""

    def _poll_sync(self, wait_s: float) -> int:
        """``poll_once()`` for the synchronous drivers; ``wait_s`` bounds a wait for new records."""
        return self.poll_once()

    def _caught_up(self) -> bool:
        """True when everything the source holds was read (checked before ``run_until_idle`` returns)."""
        return True

    def _on_idle(self) -> None:
        """Called when ``run_until_idle`` is about to return (e.g. to refresh the lag)."""
        return None

    def _finish_stop(self) -> None:
        """Save the position of resolved records and release the source (called once the loop is stopped)."""
        return None

    def start(self) -> None:
        """Run the poll loop in a daemon thread (no-op when the mapping is disabled or running).

        After a :meth:`stop` that stopped waiting for an invocation, this first waits for that invocation
        (its thread saves its position, then exits)."""
        if not self.spec.enabled:
            log.info("%s: disabled, not starting", self.name)
            return
        old = self._thread
        if old is not None and old.is_alive():
            if not self._stop.is_set():
                return
            old.join()
        self._stop.clear()
        self._handoff = threading.Lock()
        self._loop_done = self._late_finish = False
        self._thread = threading.Thread(target=self._run, name=f"{self.thread_prefix}-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    progress = self.poll_once()
                except Exception as exc:  # keep the mapping alive; AWS keeps polling too
                    log.exception("%s: poll loop error", self.name)
                    self.counters.last_error = f"{type(exc).__name__}: {exc}"
                    self._stop.wait(1.0)
                    continue
                if not progress and self.idle_wait_s:
                    self._stop.wait(self.idle_wait_s)
        finally:
            with self._handoff:
                self._loop_done = True
                late = self._late_finish
            if late:  # stop() gave up waiting for this thread: finish here, after the invocation returned
                try:
                    self._finish_stop()
                except Exception:
                    log.exception("%s: finishing the stop failed", self.name)

    def request_stop(self) -> None:
        """Ask the loop to stop after the current poll, without waiting (:meth:`stop` waits)."""
        self._stop.set()

    def _stop_loop(self, timeout: float) -> bool:
        """Signal the loop and wait up to ``timeout`` for the current poll (and its invocation) to finish.

        True: the loop has ended (or never ran); the caller runs :meth:`_finish_stop`. False: an invocation
        is still running; the loop thread runs :meth:`_finish_stop` itself once it returns, and the records of
        that invocation stay uncommitted until then.
        """
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(max(0.0, timeout))
        with self._handoff:
            if not self._loop_done:
                self._late_finish = True
                log.warning("%s: an invocation is still running at the stop deadline; its records stay "
                            "uncommitted unless it completes", self.name)
                return False
        thread.join()  # it is past its last poll: only the thread's exit is left
        self._thread = None
        return True

    @property
    def running(self) -> bool:
        """True while the background thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _pause(self) -> None:
        if self.sync_pause_s:
            time.sleep(self.sync_pause_s)

    def run_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Poll synchronously until ``predicate()`` is true; raises ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: condition not reached in {timeout}s")
            if not self._poll_sync(0.1):
                self._pause()

    def run_until_idle(self, timeout: float = 30.0, idle_s: float | None = None) -> None:
        """Poll synchronously until nothing is buffered or being retried, the source is read to its end,
        and ``idle_s`` (default: the mapping's ``default_idle_s``) passed without a new record.

        Batching windows are honoured (this waits for them). Raises ``TimeoutError`` after ``timeout``
        seconds (e.g. a batch that keeps failing forever).
        """
        if not self.spec.enabled:
            return
        idle = self.default_idle_s if idle_s is None else idle_s
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: not idle after {timeout}s ({self.status()})")
            progress = self._poll_sync(min(0.2, idle))
            if progress or self._busy():
                quiet_since = None
                if not progress:
                    self._pause()  # waiting for a batching window
                continue
            now = time.monotonic()
            if quiet_since is None:
                quiet_since = now
            if now - quiet_since >= idle and self._caught_up():
                self._on_idle()
                return
