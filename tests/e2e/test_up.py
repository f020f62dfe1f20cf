"""`logistics up` (what `make demo` runs) as a user runs it: comes up, serves, and Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from local_runtime.services.aws import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process, read from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")[:160].decode(errors="replace")
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), fields[0], command)
    return table


def descendants(pid: int) -> dict[int, str]:
    """Live (non-zombie) descendants of a process, with their command lines."""
    table = _processes()
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, state, command) in table.items():
            if ppid == parent and child not in found and state != "Z":
                found[child] = command
                frontier.append(child)
    return found


def alive(pids: dict[int, str]) -> list[str]:
    table = _processes()
    return [command for pid, command in pids.items() if pid in table and table[pid][1] != "Z"]


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise AssertionError(f"nothing listens on {port}")


def test_up_serves_the_dashboard_and_ctrl_c_leaves_no_process(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    process = subprocess.Popen(
        [sys.executable, "-m", "local_runtime.cli", "up", "--simulate", "--rate", "50", "--port", str(port),
         "--state-dir", str(tmp_path / "state")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for_port(port, process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status in (200, 302, 401)
        time.sleep(3)  # let traffic flow through the mappings
        children = descendants(process.pid)
        commands = list(children.values())
        assert any("tansu" in c for c in commands) and any("moto" in c for c in commands), commands
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert b"Dashboard" in stdout and b"IngestFunction" in stdout
    assert b"ingested" in stderr
    time.sleep(0.5)
    assert alive(children) == []
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the dashboard port is still served"
