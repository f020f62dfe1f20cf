"""``logistics up``: the whole template on this machine, a live status line, and a clean Ctrl-C.

Generic: it knows a :class:`~local_runtime.runtime.LocalPlatform` and nothing of any one project. A project
adds its own setup (seed data, traffic, a richer status line) through an :class:`Extension`, which the
command wires in (:mod:`local_runtime.cli.commands`) and which starts a :class:`Session` only for a template it
recognises.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from local_runtime.cli.template_args import add_template_arguments

if TYPE_CHECKING:
    from local_runtime.runtime import LocalPlatform

__all__ = ["HELP", "Extension", "Session", "banner", "configure", "platform_status", "run", "show_status"]

HELP = "run the whole platform locally (embedded Kafka + AWS)"
# What Ctrl-C gives LocalPlatform.stop; the session's own stop (about a second at most), closing the log and the
# interpreter's exit come on top, and the whole must stay under 5 s on a busy machine.
STOP_TIMEOUT_S = 3.0


class Session(Protocol):
    """A project's additions to a running platform, from start-up to shutdown."""

    def banner_lines(self) -> list[str]:
        """Lines printed after the platform's own banner (sign-in details...)."""
        ...

    def start(self) -> None:
        """Start producing (after the banner, with handler output already going to the log file)."""
        ...

    def status(self) -> str:
        """The status line (replaces :func:`platform_status`)."""
        ...

    def stop(self) -> None:
        """Stop what it started that talks to the platform, in a second or so; called once the platform was asked
        to stop (its mappings start no new invocation) and before its services stop."""
        ...

    def close(self) -> None:
        """Release the rest; called once the platform has stopped."""
        ...


class Extension(Protocol):
    """Adds options to ``up`` and, for a template it recognises, a :class:`Session`."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Its own options of ``logistics up``."""
        ...

    def session(self, platform: LocalPlatform, args: argparse.Namespace, stop: threading.Event) -> Session | None:
        """A session for this platform, or ``None`` when its template is not one the extension knows."""
        ...


def configure(parser: argparse.ArgumentParser, extensions: Sequence[Extension] = ()) -> None:
    """Template options, the generic ``up`` options, then each extension's own."""
    add_template_arguments(parser)
    parser.add_argument("--port", type=int, default=8000, help="dashboard port (default 8000; 0 picks one)")
    parser.add_argument("--state-dir", default=".logistics", help="where stream checkpoints are kept")
    parser.add_argument("--partitions", type=int, default=3, help="partitions of the Kafka topics it creates")
    parser.add_argument("--status-every", type=float, default=1.0, help="seconds between status lines")
    parser.add_argument("--env-vars", metavar="FILE", type=Path,
                        help="JSON of extra environment variables, as `sam local --env-vars`: "
                             '{"FunctionLogicalId": {"VAR": "value"}, "Parameters": {"VAR": "for every function"}}')
    parser.add_argument("--stop-timeout", type=float, default=STOP_TIMEOUT_S,
                        help=f"seconds Ctrl-C gives the platform to stop (default {STOP_TIMEOUT_S:g}): invocations "
                             "still running after about half of it stay uncommitted and are delivered again next "
                             "time; services still running at the end are killed")
    for extension in extensions:
        extension.add_arguments(parser)


def run(args: argparse.Namespace, extensions: Sequence[Extension] = (), *, end_process: bool = False) -> int:
    """Start everything, print what runs where, show counters until Ctrl-C / SIGTERM, stop everything.

    ``end_process`` (the ``logistics up`` command): once everything is stopped, end the process at once
    (``os._exit``) instead of returning. All that is left then is threads of invocations the stop did not wait
    for; a normal interpreter exit would wait for their worker pools, retrying against services already gone.
    """
    code = _serve(args, extensions)
    if end_process:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _serve(args: argparse.Namespace, extensions: Sequence[Extension]) -> int:
    from local_runtime.cloudformation import parse_parameter_overrides
    from local_runtime.logs import record_endpoints
    from local_runtime.runtime import LocalPlatform, PlatformOptions

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():  # a second Ctrl-C: leave now; the services get SIGTERM as their parent dies
            os.write(2, b"\nstopping at once (the services stop with this process)\n")
            os._exit(128 + signum)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    # Handlers print their logs and metrics to stdout, as on Lambda; they go to CloudWatch Logs (one group per
    # function, `logistics logs FUNCTION`) and to one file, so the terminal keeps the banner and the status line.
    Path(args.state_dir).mkdir(parents=True, exist_ok=True)
    log_path = Path(args.state_dir) / "functions.log"
    log_file = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - closed in the finally below
    options = PlatformOptions(
        template=args.template, config_env=args.config_env,
        parameter_overrides=parse_parameter_overrides(args.parameter_overrides),
        stack_name=args.stack_name, region=args.region, dashboard_port=args.port, state_dir=Path(args.state_dir),
        partitions=args.partitions, function_log_echo=log_file, function_env=read_env_vars(args.env_vars))
    platform = LocalPlatform(options)
    sessions: list[Session] = []
    try:
        print("starting embedded Kafka and AWS, deploying the template ...", file=sys.stderr)
        platform.start()
        record_endpoints(args.state_dir, platform.endpoint_of("logs"), platform.region)
        for extension in extensions:
            if (session := extension.session(platform, args, stop)) is not None:
                sessions.append(session)
        extra = [line for session in sessions for line in session.banner_lines()]
        print(banner(platform, extra) + f"\nFunction logs: `logistics logs FUNCTION [--follow]`, all in {log_path}\n",
              flush=True)
        for session in sessions:
            session.start()
        while not stop.wait(args.status_every):
            show_status(sessions[0].status() if sessions else platform_status(platform))
        print("\nstopping ...", file=sys.stderr)
        return 0
    finally:
        # Everything stops at once against one deadline: the mappings start no new invocation while the
        # simulator winds down, then the platform waits (bounded) for invocations and stops its services.
        stop.set()
        platform.request_stop()
        for session in sessions:
            session.stop()
        platform.stop(timeout_s=args.stop_timeout)
        for session in sessions:
            session.close()
        log_file.close()
        print("stopped: every process started by `logistics up` has exited", file=sys.stderr)


def read_env_vars(path: Path | None) -> dict[str, dict[str, str]]:
    """Per-function variables from a `sam local --env-vars` file (``Parameters`` apply to every function)."""
    if path is None:
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"--env-vars {path}: {exc}") from exc
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise SystemExit(f'--env-vars {path}: expected {{"FunctionLogicalId": {{"VAR": "value"}}, ...}}')
    # "Parameters" is for every function: the platform puts it under each function's own ("*").
    return {("*" if name == "Parameters" else name): {str(k): str(v) for k, v in variables.items()}
            for name, variables in document.items()}


def platform_status(platform: LocalPlatform) -> str:
    """The status line of any template: what the mappings delivered, the Kafka lag, failures."""
    counters = platform.counters()
    return (f"ingested {counters['kafka_records_delivered']} | stream records {counters['stream_records_delivered']} "
            f"| lag {counters['kafka_lag']} | failures {counters['kafka_failures'] + counters['stream_failures']}")


def show_status(line: str, out: TextIO | None = None) -> None:
    """Rewrite the status line in place on a terminal; one line per update otherwise (a log, a pipe)."""
    out = out or sys.stderr
    if out.isatty():
        out.write("\r\x1b[2K" + line)
    else:
        out.write(line + "\n")
    out.flush()


def banner(platform: LocalPlatform, extra: Sequence[str] = ()) -> str:
    """What runs where, then the sessions' own lines (how to sign in...)."""
    width = max(len(name) for name, _ in platform.describe())
    lines = ["", "Logistics platform running locally (Ctrl-C stops everything):"]
    lines += [f"  {name.ljust(width)}  {where}" for name, where in platform.describe()]
    lines += extra
    lines.append("")
    return "\n".join(lines)
