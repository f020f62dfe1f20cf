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
    ``_busy()``; it may refine ``_poll_sync``, ``_caught_up`` and ``_on_idle``.
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

    def start(self) -> None:
        """Run the poll loop in a daemon thread (no-op when the mapping is disabled or running)."""
        if not self.spec.enabled:
            log.info("%s: disabled, not starting", self.name)
            return
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self.thread_prefix}-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
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

    def _stop_loop(self, timeout: float) -> None:
        """Signal the loop and wait for the current poll (and its invocation) to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

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
