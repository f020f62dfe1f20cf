"""The background thread both event-source mappings run: poll, invoke, repeat until stopped."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class PollLoop:
    """Mixin: ``start()`` runs ``poll_once()`` in a daemon thread until ``_stop_loop()``.

    The host class provides ``name``, ``spec`` (with ``enabled``), ``counters`` (with ``last_error``),
    ``poll_once()`` (truthy when it made progress) and sets ``_stop``/``_thread`` in its constructor.
    """

    name: str
    spec: Any
    counters: Any
    _stop: threading.Event
    _thread: threading.Thread | None
    thread_prefix = "esm"
    idle_wait_s = 0.0  # pause after a poll that found nothing (0: poll_once waits by itself)

    def poll_once(self) -> Any:  # pragma: no cover - provided by the host class
        raise NotImplementedError

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
