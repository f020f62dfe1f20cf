"""Stopping the helper processes the runtime starts (moto, Tansu) without leaving anything behind."""

from __future__ import annotations

import contextlib
import subprocess
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
