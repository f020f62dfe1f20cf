"""MiniStack: a LocalStack-compatible emulator (PyPI ``ministack``, MIT) that runs Lambda functions itself, in
local worker subprocesses, without Docker.

MiniStack pins its own botocore, so it lives in a virtual environment of its own (``.tools/ministack``, built by
``make test-localstack`` from ``requirements/ministack.txt``). :class:`MiniStack` starts its console script on a
free loopback port (``GATEWAY_PORT``, ``BIND_HOST``: it would bind 0.0.0.0 otherwise), waits for the LocalStack
health route, and stops it with its whole process group: MiniStack's function workers are its children, and a
stop must leave none of them behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from local_runtime.services.aws import SCRUBBED_VARIABLES, aws_env, free_port
from local_runtime.services.processes import ManagedProcess, wait_until

__all__ = ["HEALTH_PATH", "MiniStack", "default_executable", "is_healthy", "session_members"]

HEALTH_PATH = "/_localstack/health"
TOOL_ENV = Path(".tools") / "ministack"  # relative to the project root
_SESSION_KILL_WAIT_S = 5.0


def default_executable(root: str | os.PathLike[str] = ".") -> Path:
    """The ``ministack`` console script of the project's tool environment."""
    return Path(root) / TOOL_ENV / "bin" / "ministack"


def is_healthy(endpoint_url: str, timeout_s: float = 1.0) -> bool:
    """True when ``endpoint_url`` answers LocalStack's health route with a JSON document."""
    try:
        with urllib.request.urlopen(endpoint_url.rstrip("/") + HEALTH_PATH, timeout=timeout_s) as response:
            return isinstance(json.loads(response.read() or b"null"), dict)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
        return False


def _child_environment(port: int, region: str) -> dict[str, str]:
    """The emulator's environment: ours minus anything naming another endpoint or real credentials.

    MiniStack hands its own environment to the functions it runs (and sets ``AWS_ENDPOINT_URL`` to itself only
    when absent), so an inherited ``AWS_ENDPOINT_URL_DYNAMODB`` would send the functions elsewhere.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_ENDPOINT_URL") and k not in SCRUBBED_VARIABLES}
    env.update(aws_env(None, region))
    env.update({"GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"})
    return env


class MiniStack(ManagedProcess):
    """MiniStack on 127.0.0.1 (a free port unless ``port`` is given)::

        with MiniStack(default_executable(root)) as emulator:
            client("lambda", emulator.endpoint_url)
    """

    label = "ministack"
    stop_grace_s = 5.0

    def __init__(self, executable: str | os.PathLike[str], *, port: int | None = None, region: str = "us-east-1",
                 startup_timeout_s: float = 60.0) -> None:
        self.executable = Path(executable)
        self.region = region
        self._port = port
        self._startup_timeout_s = startup_timeout_s
        self._endpoint_url: str | None = None

    @property
    def endpoint_url(self) -> str:
        """The emulator's single endpoint (available after :meth:`start`)."""
        if self._endpoint_url is None:
            raise RuntimeError("MiniStack is not started")
        return self._endpoint_url

    def start(self) -> str:
        """Start MiniStack and wait until its health route answers. Returns the endpoint URL."""
        if not self.executable.is_file():
            raise FileNotFoundError(f"{self.executable} is missing: run `make test-localstack` (it builds "
                                    "the MiniStack tool environment from requirements/ministack.txt)")

        def launch(port: int) -> str:
            url = f"http://127.0.0.1:{port}"
            self._spawn([str(self.executable)], env=_child_environment(port, self.region))
            wait_until(lambda: is_healthy(url), f"MiniStack {url}", self._startup_timeout_s, self._running())
            return url

        self._endpoint_url = self._start_on_free_port(self._port, free_port, launch)
        return self._endpoint_url

    def stop(self, timeout_s: float | None = None) -> None:
        """SIGTERM MiniStack, SIGKILL it after the grace period, then its process group (function workers).
        Safe to call twice."""
        process = self._process
        self._stop_process(self.stop_grace_s if timeout_s is None else timeout_s)
        if process is not None:
            _kill_group(process)
        self._endpoint_url = None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL what is left of the child's session (it was started as a session leader). MiniStack's workers
    may sit in process groups of their own, so every process of the session is found in /proc, not only the
    group."""
    sid = process.pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sid, signal.SIGKILL)
    deadline = time.monotonic() + _SESSION_KILL_WAIT_S
    while (left := session_members(sid)) and time.monotonic() < deadline:
        for pid in left:  # SIGKILL takes a moment to land: wait until /proc shows them gone (or zombies)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def session_members(sid: int) -> list[int]:
    """The processes of session ``sid`` still running (Linux /proc; empty elsewhere)."""
    members = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    if os.getsid(int(entry)) == sid and _state(int(entry)) != "Z":
                        members.append(int(entry))
    return members


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"
