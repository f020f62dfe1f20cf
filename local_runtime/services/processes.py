"""Stopping the helper processes the runtime starts (moto, Tansu) without leaving anything behind."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from typing import Any


def terminate(process: subprocess.Popen[bytes] | None, grace_s: float, kill_wait_s: float = 10.0) -> None:
    """SIGTERM, wait ``grace_s``, then SIGKILL; returns once the process is reaped."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(kill_wait_s)


def close_quietly(handle: Any) -> None:
    """Close a log file handle, ignoring an already-closed or broken one."""
    if handle is not None:
        with contextlib.suppress(OSError):
            handle.close()


class ManagedProcess:
    """Mixin for a service started as a child process: ``pid``, and ``with`` support (start ... stop)."""

    _process: subprocess.Popen[bytes] | None = None

    def start(self) -> Any:  # pragma: no cover - provided by the host class
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - provided by the host class
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (None when nothing was started)."""
        return self._process.pid if self._process else None

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(answers: Callable[[], bool], what: str, timeout_s: float, is_alive: Callable[[], bool] | None) -> None:
    """Poll ``answers()`` until it is true; ``RuntimeError`` if the process died first, else ``TimeoutError``."""
    deadline = time.monotonic() + timeout_s
    while not answers():
        if is_alive is not None and not is_alive():
            raise RuntimeError(f"the process exited before {what} answered")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not answer within {timeout_s}s")
        time.sleep(0.05)
