"""One execution environment: a worker process running a function's handler under a Lambda runtime client.

A :class:`Worker` owns its process (in a process group of its own, dying with the runtime), its
:class:`~.runtime_api.RuntimeApiServer`, its :class:`~.output.OutputCapture`, and a monitor thread that waits
for the process to exit: an exit while an invocation is in flight settles that invocation as an ``exit``
outcome, so a crash is an answer, never a hang. Workers run one invocation at a time.

Processes are forked by one long-lived thread (:data:`SPAWNER`): Linux sends ``PR_SET_PDEATHSIG`` when the
*thread* that forked the child ends, and invocations come from short-lived threads too (HTTP requests).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from local_runtime.invoke.output import Emit, OutputCapture
from local_runtime.invoke.runtime_api import Invocation, Outcome, RuntimeApiServer
from local_runtime.services.processes import die_with_parent

__all__ = ["SPAWNER", "Spawner", "Worker"]


class Spawner:
    """Starts processes from one thread that lives as long as the runtime (see the module docstring)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[subprocess.Popen[bytes]], Sequence[str], dict[str, Any]]] = \
            queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, command: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
        """``subprocess.Popen(command, **popen)``, run on the spawner thread."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lambda-worker-spawner", daemon=True)
                self._thread.start()
        future: Future[subprocess.Popen[bytes]] = Future()
        self._queue.put((future, command, popen))
        return future.result()

    def _run(self) -> None:
        while True:
            future, command, popen = self._queue.get()
            try:
                future.set_result(subprocess.Popen(list(command), **popen))
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)


SPAWNER = Spawner()
_live: weakref.WeakSet[Worker] = weakref.WeakSet()


@atexit.register
def _kill_all() -> None:
    """At exit, no worker (nor anything it started) outlives the runtime, closed or not."""
    for worker in list(_live):
        worker.kill()


class Worker:
    """A worker process started now; :meth:`wait_ready` until its init phase is over."""

    def __init__(self, *, command: Sequence[str], env: Mapping[str, str], cwd: Path, server: RuntimeApiServer,
                 emit: Emit, name: str, on_exit: Callable[[Worker], None] | None = None) -> None:
        self.name = name
        self.server = server
        self.inflight: Invocation | None = None
        self.exit_status: int | None = None
        self.last_used = time.monotonic()
        self.max_memory_mb: int | None = None
        self._on_exit = on_exit
        self._exited = threading.Event()
        self._killed = False
        self.started_at = time.perf_counter()
        self.process = SPAWNER.popen(
            command, env=dict(env), cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent())
        assert self.process.stdout is not None
        fd = os.dup(self.process.stdout.fileno())
        self.process.stdout.close()
        self.output = OutputCapture(fd, emit, name=name)
        _live.add(self)
        threading.Thread(target=self._monitor, name=f"monitor-{name}", daemon=True).start()

    @property
    def alive(self) -> bool:
        """False once the process has exited or is being killed."""
        return not (self._killed or self._exited.is_set())

    @property
    def pid(self) -> int:
        """The worker's process id (also its process group id)."""
        return self.process.pid

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait for the end of the init phase (first ``GET /next``), an init error or an exit; False on timeout."""
        return self.server.ready.wait(timeout_s)

    @property
    def init_ms(self) -> float | None:
        """Milliseconds from spawn to the first ``GET /next`` (None before it)."""
        ready_at = self.server.ready_at
        return None if ready_at is None else (ready_at - self.started_at) * 1000

    def run(self, invocation: Invocation) -> None:
        """Hand ``invocation`` to the worker; it is settled by the response, an error, or the worker's exit."""
        self.inflight = invocation
        if not self.alive:  # it died while idle: the monitor has already run
            invocation.settle(Outcome("exit", exit_status=self.exit_status))
            return
        self.server.submit(invocation)
        if not self.alive:  # died between the check and the submission: the monitor may have missed it
            invocation.settle(Outcome("exit", exit_status=self.exit_status))

    def sample_memory(self) -> int | None:
        """Peak resident memory so far in MB (``VmHWM``), kept for when the process is gone."""
        with contextlib.suppress(OSError, ValueError), open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    self.max_memory_mb = -(-int(line.split()[1]) // 1024)
                    break
        return self.max_memory_mb

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (whatever the handler started goes too)."""
        self._killed = True
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def wait_exit(self, timeout_s: float) -> bool:
        """Wait until the process has exited and was reaped; False on timeout."""
        return self._exited.wait(timeout_s)

    def _monitor(self) -> None:
        status = self.process.wait()
        self.exit_status = status
        self._exited.set()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # children the handler left behind
        invocation = self.inflight
        if invocation is not None:
            invocation.settle(Outcome("exit", exit_status=status))
        self.server.ready.set()  # an init that will never finish
        self.server.close()
        _live.discard(self)
        if self._on_exit is not None:
            self._on_exit(self)


def exit_description(status: int | None) -> str:
    """Lambda's words for how the runtime process ended: ``exit status 3``, ``signal: segmentation fault``."""
    if status is None:
        return "unknown"
    if status < 0:
        name = signal.strsignal(-status) or f"signal {-status}"
        return f"signal: {name.lower()}"
    return f"exit status {status}"
