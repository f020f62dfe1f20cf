"""``logistics alarms``: the template's CloudWatch alarms and their state on the local CloudWatch.

Thin: which template and endpoint (as ``logistics logs`` finds them); the evaluation lives in
:mod:`local_runtime.alarms`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from local_runtime.cli.template_args import add_template_arguments, load_template_from_args

__all__ = ["HELP", "configure", "run"]

HELP = "list the template's CloudWatch alarms and their state, evaluated on the local CloudWatch metrics"


def configure(parser: argparse.ArgumentParser) -> None:
    """Where to read, and the template options (the alarms and the names their dimensions resolve to)."""
    parser.add_argument("--endpoint", help="CloudWatch endpoint (default: AWS_ENDPOINT_URL, else the one "
                                           "a running `logistics up` recorded in its state directory)")
    parser.add_argument("--state-dir", default=".logistics", help="`logistics up`'s state directory")
    parser.add_argument("--strict", action="store_true", help="exit 3 when an alarm is in ALARM")
    add_template_arguments(parser)


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print one line per alarm (state, name, metric, the periods' values, why); 1 when no endpoint answers."""
    from botocore.exceptions import BotoCoreError, ClientError

    from local_runtime.alarms import ALARM, alarm_specs, evaluate_all
    from local_runtime.cli.logs import resolve_target
    from local_runtime.services import aws

    out = out or sys.stdout
    err = err or sys.stderr
    template = load_template_from_args(args)
    specs = alarm_specs(template)
    if not specs:
        print(f"{args.template} declares no AWS::CloudWatch::Alarm", file=out)
        return 0
    target = resolve_target(args, template.context.region)
    if target is None:
        print("no CloudWatch endpoint: start `logistics up` (it records its endpoint in "
              f"{Path(args.state_dir) / 'endpoints.json'}), or pass --endpoint or set AWS_ENDPOINT_URL", file=err)
        return 1
    cloudwatch = aws.client("cloudwatch", target.endpoint, target.region, connect_timeout=2, read_timeout=10)
    try:
        states = evaluate_all(cloudwatch, specs)
    except (BotoCoreError, ClientError) as exc:
        print(f"cannot read metrics from {target.endpoint} ({target.source}): {exc}", file=err)
        return 1
    width = max(len(s.spec.logical_id) for s in states)
    for s in states:
        metric = f"{s.spec.namespace}/{s.spec.metric_name} {s.spec.statistic} {s.spec.period_s}s"
        values = ", ".join("-" if v is None else f"{v:g}" for v in s.values)
        print(f"{s.state:<17} {s.spec.logical_id.ljust(width)}  {metric}  [{values}]  {s.reason}", file=out)
    return 3 if args.strict and any(s.state == ALARM for s in states) else 0
