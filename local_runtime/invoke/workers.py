"""Where handlers run: the process-wide :data:`GATE` (one function's environment installed at a time) and
:data:`POOL`, daemon worker threads reused across invocations."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Protocol

__all__ = ["GATE", "POOL", "Gate", "Job", "Sandbox", "WorkerPool"]


class Sandbox(Protocol):
    """What the gate switches: a function whose environment, ``sys.path`` and modules can be put in place."""

    def install(self) -> None: ...

    def uninstall(self) -> None: ...


class Gate:
    """One function's environment installed at a time; invocations of that function share it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: Sandbox | None = None
        self._count = 0
        self._waiting: Counter[Sandbox] = Counter()

    @contextlib.contextmanager
    def enter(self, fn: Sandbox) -> Iterator[None]:
        with self._cond:
            self._waiting[fn] += 1
            # Join the active function only if no other function waits, so a busy one cannot starve the rest.
            while not (self._active is None or (self._active is fn and not self._others_waiting(fn))):
                self._cond.wait()
            self._waiting[fn] -= 1
            if self._active is None:
                fn.install()
                self._active = fn
            self._count += 1
        try:
            yield
        finally:
            with self._cond:
                self._count -= 1
                if self._count == 0:
                    try:
                        fn.uninstall()
                    finally:
                        self._active = None
                        self._cond.notify_all()

    def _others_waiting(self, fn: Sandbox) -> bool:
        return any(count for other, count in self._waiting.items() if other is not fn)


GATE = Gate()  # process-wide: the environment it protects is process-wide


class Job:
    """One handler run on a pooled worker thread."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.abandoned = False

    def abandon(self) -> None:
        """The invocation timed out: its worker leaves the pool once (if ever) the handler returns."""
        self.abandoned = True


class WorkerPool:
    """Daemon worker threads reused across invocations (starting a thread per call costs ~0.2 ms).

    Daemon, unlike ``ThreadPoolExecutor``'s workers, so a handler stuck past its timeout cannot keep the
    process from exiting.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[Job]] = []
        self._count = 0

    def submit(self, fn: Callable[[], None]) -> Job:
        job = Job(fn)
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                self._count += 1
                inbox = queue.SimpleQueue()
                threading.Thread(target=self._work, args=(inbox,), name=f"lambda-worker-{self._count}",
                                 daemon=True).start()
        inbox.put(job)
        return job

    def _work(self, inbox: queue.SimpleQueue[Job]) -> None:
        while True:
            job = inbox.get()
            job.fn()
            job.done.set()
            if job.abandoned:
                return  # its invocation already failed; do not hand this thread out again mid-flight
            with self._lock:
                self._idle.append(inbox)


POOL = WorkerPool()
