"""Starting and stopping the helper processes the runtime runs (moto, Tansu, DynamoDB Local) without leaving
anything behind: free-port retries, a log kept to explain a failed start, SIGTERM then SIGKILL, and children
that die with the runtime."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_START_ATTEMPTS = 3  # a chosen free port can be taken before the child binds it


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies (None elsewhere).

    Without it a runtime killed with SIGKILL (or crashing) would leave orphans holding memory and ports.
    libc is loaded here, in the parent, so the forked child only makes one foreign call before exec.
    Caveat: the "parent" is the *thread* that forked; start services from a thread that outlives them.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect: nobody would stop us
            os._exit(1)

    return preexec


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
    """Mixin for a service started as a child process: spawning with a log, free-port retries, ``pid``,
    stopping, and ``with`` support (start ... stop)."""

    _process: subprocess.Popen[bytes] | None = None
    _log: Any = None
    label = "service"  # names the child in errors and log excerpts
    stop_grace_s = 5.0  # how long the child gets after SIGTERM before SIGKILL

    def _spawn(self, command: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
        """Start ``command`` with its output kept (explains a failed start), in its own session (Ctrl-C reaches
        the runtime, which stops children after the handlers are done), dying with the runtime."""
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _stop_process()
        self._process = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent(), **popen)
        return self._process

    def _running(self) -> Callable[[], bool]:
        """A check that the current child has not exited."""
        process = self._process
        return lambda: process is not None and process.poll() is None

    def _start_on_free_port(self, fixed_port: int | None, free_port: Callable[[], int],
                            launch: Callable[[int], str]) -> str:
        """Run ``launch(port)`` (spawn and wait until ready; returns the address) on a free port, retrying on
        another when the child failed to start; registers :meth:`stop` at exit. Returns the address."""
        last_error: Exception | None = None
        for _attempt in range(_START_ATTEMPTS):
            port = fixed_port or free_port()
            try:
                address = launch(port)
            except (RuntimeError, TimeoutError) as exc:
                last_error = RuntimeError(f"{self.label} did not start on port {port}: {exc}{self._log_tail()}")
                self.stop()
                if fixed_port:
                    break
                continue
            atexit.register(self.stop)
            return address
        assert last_error is not None
        raise last_error

    def _log_tail(self) -> str:
        """The end of the child's output, for an error message."""
        if self._log is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0)
            text = self._log.read()[-2000:].decode(errors="replace")
            return f"\n--- {self.label} output ---\n{text}" if text else ""
        return ""

    def _stop_process(self, grace_s: float, kill_wait_s: float = 10.0) -> None:
        """SIGTERM, wait ``grace_s``, SIGKILL; close the log; forget the exit hook. Safe to call twice."""
        process, self._process = self._process, None
        terminate(process, grace_s, kill_wait_s)
        close_quietly(self._log)
        self._log = None
        atexit.unregister(self.stop)

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


def stop_together(services: Iterable[ManagedProcess], grace_s: float | None = None) -> None:
    """Stop several services at once: SIGTERM every child, give them their grace period in parallel (each
    its ``stop_grace_s``, at most ``grace_s``), SIGKILL those still running, reap them all, then call each
    service's ``stop()`` (which finds its child gone and only tidies up). Returns once every child is gone."""
    services = list(services)
    running = [(s, s._process) for s in services if s._process is not None and s._process.poll() is None]
    for _, process in running:
        process.terminate()
    started = time.monotonic()
    for service, process in running:
        grace = service.stop_grace_s if grace_s is None else min(grace_s, service.stop_grace_s)
        try:
            process.wait(max(0.0, started + grace - time.monotonic()))
            log.debug("%s exited %.2fs after SIGTERM", service.label, time.monotonic() - started)
        except subprocess.TimeoutExpired:
            log.info("%s did not exit within %.2fs of SIGTERM: killed", service.label, grace)
            process.kill()
    for _, process in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10.0)
    for service in services:
        service.stop()


def wait_until(answers: Callable[[], bool], what: str, timeout_s: float, is_alive: Callable[[], bool] | None) -> None:
    """Poll ``answers()`` until it is true; ``RuntimeError`` if the process died first, else ``TimeoutError``."""
    deadline = time.monotonic() + timeout_s
    while not answers():
        if is_alive is not None and not is_alive():
            raise RuntimeError(f"the process exited before {what} answered")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not answer within {timeout_s}s")
        time.sleep(0.05)
