"""local_runtime.services.processes with real child processes: services stopped together within one grace
period, and children that die with the process that started them, even when it is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from local_runtime.services.processes import ManagedProcess, stop_together

ROOT = Path(__file__).resolve().parents[4]
IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); " \
                  "time.sleep(60)"
OBEYS_SIGTERM = "import time; print('ready', flush=True); time.sleep(60)"


class Child(ManagedProcess):
    """A python child running ``code``."""

    def __init__(self, code: str, grace_s: float) -> None:
        self.code = code
        self.stop_grace_s = grace_s
        self.stopped = 0

    def start(self) -> Child:
        process = self._spawn([sys.executable, "-c", self.code])
        deadline = time.monotonic() + 20
        while True:  # until it printed "ready" (its SIGTERM disposition is set by then)
            self._log.seek(0)
            if b"ready" in self._log.read() or time.monotonic() > deadline:
                break
            assert process.poll() is None
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.stopped += 1
        self._stop_process(self.stop_grace_s)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_stop_together_waits_one_grace_period_for_all_then_kills_the_rest() -> None:
    stubborn = [Child(IGNORES_SIGTERM, grace_s=5.0).start() for _ in range(3)]
    polite = Child(OBEYS_SIGTERM, grace_s=5.0).start()
    pids = [c.pid for c in [*stubborn, polite]]
    started = time.monotonic()
    stop_together([*stubborn, polite], grace_s=0.5)
    took = time.monotonic() - started
    assert 0.4 < took < 2.5  # one shared grace period, not one per child (3 x 0.5 s)
    assert all(pid is not None and _gone(pid) for pid in pids)  # reaped: not even zombies are left
    assert all(c.stopped == 1 and c.pid is None for c in [*stubborn, polite])  # each one's stop() tidied up


def test_stop_together_uses_each_service_own_grace_when_shorter() -> None:
    quick = Child(IGNORES_SIGTERM, grace_s=0.1).start()
    started = time.monotonic()
    stop_together([quick], grace_s=5.0)
    assert time.monotonic() - started < 2


def test_children_die_with_the_process_that_started_them_even_when_it_is_killed() -> None:
    """PR_SET_PDEATHSIG: the kernel sends SIGTERM to a child when its parent dies, SIGKILL included."""
    parent_code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_processes import Child, OBEYS_SIGTERM
        children = [Child(OBEYS_SIGTERM, 5.0).start() for _ in range(2)]
        print(" ".join(str(c.pid) for c in children), flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, start_new_session=True)
    pids: list[int] = []
    try:
        assert parent.stdout is not None
        pids += [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and not any(_gone(p) for p in pids)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 5
        while not all(_gone(p) or _zombie(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(p) or _zombie(p) for p in pids)
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
        for pid in pids:  # only if the test failed: do not leave them behind
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def _zombie(pid: int) -> bool:
    """Exited but not yet reaped by its new parent (init or a subreaper)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
