"""``logistics logs``: a function's logs from the embedded CloudWatch Logs, like ``sam logs`` (``--follow`` to tail).

Thin: which function and endpoint are meant (template, flags, environment, what ``logistics up`` recorded);
reading and printing live in :mod:`local_runtime.logs.tail`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from local_runtime.cli.template_args import add_template_arguments, load_template_from_args

__all__ = ["HELP", "Target", "configure", "function_name", "parse_since", "resolve_target", "run"]

HELP = "print a function's logs from the embedded CloudWatch Logs (like `sam logs`; --follow to tail)"
_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_SINCE = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")


def parse_since(text: str) -> int:
    """``30s``, ``5m``, ``2h``, ``1d`` -> milliseconds (an argparse ``type``)."""
    match = _SINCE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30s, 5m, 2h or 1d")
    return int(match.group(1)) * _UNITS_MS[match.group(2)]


def configure(parser: argparse.ArgumentParser) -> None:
    """The function, what to show, where to read, and the template options (to resolve a logical id)."""
    parser.add_argument("function", help="function logical id (resolved through the template) or physical name")
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until Ctrl-C")
    parser.add_argument("--since", "-s", type=parse_since, default="10m",
                        help="how far back to start: 30s, 5m, 2h, 1d (default 10m)")
    parser.add_argument("--filter", dest="pattern", metavar="PATTERN",
                        help="CloudWatch Logs filter pattern (as FilterLogEvents takes it)")
    parser.add_argument("--endpoint", help="CloudWatch Logs endpoint (default: AWS_ENDPOINT_URL, else the one "
                                           "a running `logistics up` recorded in its state directory)")
    parser.add_argument("--state-dir", default=".logistics", help="`logistics up`'s state directory")
    add_template_arguments(parser)


@dataclass(frozen=True)
class Target:
    """Where to read: the endpoint, the region, and where the endpoint came from (for error messages)."""

    endpoint: str
    region: str
    source: str


def function_name(args: argparse.Namespace) -> tuple[str, str | None]:
    """The physical function name of ``args.function`` and the template's region (None without a template).

    A logical id of the template resolves to its ``FunctionName`` (declared or generated from the stack name);
    anything else is taken as a physical name, so functions of other templates work too.
    """
    from local_runtime.cloudformation.resources import FUNCTION_TYPES

    if not Path(args.template).is_file():
        return args.function, None
    template = load_template_from_args(args)
    resource = template.resources.get(args.function)
    if resource is not None and resource.type in FUNCTION_TYPES:
        return template.function(args.function).name, template.context.region
    return args.function, template.context.region


def resolve_target(args: argparse.Namespace, template_region: str | None) -> Target | None:
    """``--endpoint``, else ``AWS_ENDPOINT_URL_LOGS`` / ``AWS_ENDPOINT_URL``, else what ``logistics up`` recorded
    in ``--state-dir``; the region: ``--region``, else the recorded one (for that endpoint), else the template's,
    else the default. None when no endpoint is known."""
    from local_runtime.logs.endpoints import read_endpoints
    from local_runtime.services import aws

    recorded = read_endpoints(args.state_dir)
    if args.endpoint:
        endpoint, source = args.endpoint, "--endpoint"
    elif variable := next((v for v in ("AWS_ENDPOINT_URL_LOGS", "AWS_ENDPOINT_URL") if os.environ.get(v)), None):
        endpoint, source = os.environ[variable], variable
    elif recorded is not None:
        endpoint, source = recorded.aws_endpoint, f"recorded by `logistics up` in {recorded.path}"
    else:
        return None
    recorded_region = recorded.region if recorded is not None and recorded.aws_endpoint == endpoint else None
    region = args.region or recorded_region or template_region or aws.default_region()
    return Target(endpoint, region, source)


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None,
        stop: threading.Event | None = None) -> int:
    """Print the function's lines since ``--since`` (then follow them with ``--follow`` until ``stop`` is set or
    Ctrl-C). 1 with a one-line reason when there is no endpoint, it does not answer, or there are no logs yet."""
    from botocore.exceptions import ClientError

    from local_runtime.logs.tail import EndpointUnreachable, NoLogGroup, follow, print_events
    from local_runtime.services import aws

    out = out or sys.stdout
    err = err or sys.stderr
    name, template_region = function_name(args)
    target = resolve_target(args, template_region)
    if target is None:
        print("no CloudWatch Logs endpoint: start `logistics up` (it records its endpoint in "
              f"{Path(args.state_dir) / 'endpoints.json'}), or pass --endpoint or set AWS_ENDPOINT_URL", file=err)
        return 1
    group = f"/aws/lambda/{name}"
    client = aws.client("logs", target.endpoint, target.region, connect_timeout=2, read_timeout=30)
    start_ms = int(time.time() * 1000) - args.since
    try:
        if args.follow:
            def waiting(_exc: NoLogGroup) -> None:
                print(f"no logs yet for {args.function} (log group {group}); waiting for its first line", file=err)

            follow(client, group, out, stop or threading.Event(), start_ms=start_ms, pattern=args.pattern,
                   on_missing=waiting)
        else:
            print_events(client, group, out, start_ms=start_ms, pattern=args.pattern)
    except NoLogGroup:
        print(f"no logs yet for {args.function} (log group {group})", file=err)
        return 1
    except EndpointUnreachable:
        hint = ": is `logistics up` running?" if target.source.startswith("recorded") else ""
        print(f"cannot reach CloudWatch Logs at {aws.service_endpoint('logs', target.endpoint)} "
              f"({target.source}){hint}", file=err)
        return 1
    except ClientError as exc:  # e.g. a filter pattern the service refuses
        print(f"CloudWatch Logs refused the request: {exc}", file=err)
        return 1
    except BrokenPipeError:  # `logistics logs X | head`: the reader left, which is not an error
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0
