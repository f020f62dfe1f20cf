"""``logistics invoke``: container-free ``sam local invoke``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from local_runtime.cli.template_args import add_template_arguments, load_template_from_args

__all__ = ["configure", "run"]

HELP = "invoke one function locally (container-free `sam local invoke`)"


def configure(parser: argparse.ArgumentParser) -> None:
    """The function to invoke, its event, and the template options."""
    parser.add_argument("function", help="function logical id or name")
    parser.add_argument("--event", "-e", help="event JSON file ('-' for stdin; default: {})")
    add_template_arguments(parser)


def _read_event(source: str | None) -> Any:
    if source is None:
        return {}
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text) if text.strip() else {}


def run(args: argparse.Namespace) -> int:
    """Deploy the template's resources on the embedded moto (or AWS_ENDPOINT_URL), run the handler
    in-process, print the response JSON on stdout."""
    from local_runtime.deploy import deploy_template
    from local_runtime.invoke import FunctionError, Invoker
    from local_runtime.services import aws

    event = _read_event(args.event)
    out = sys.stdout
    # The handler's prints and logs go to stderr, so stdout holds only the response (as with sam local invoke).
    with contextlib.redirect_stdout(sys.stderr), aws.EmbeddedAws(region=args.region) as embedded:
        account = aws.account_id(embedded.endpoint_url, embedded.region)
        template = load_template_from_args(args, account_id=account, endpoint_url=embedded.endpoint_url)
        _deployment, template = deploy_template(template, endpoint_url=embedded.endpoint_url)
        spec = template.function(args.function)
        region = template.context.region
        invoker = Invoker([spec], region=region, account_id=account,
                          base_env=aws.aws_env(embedded.endpoint_url, region))
        try:
            response = invoker.invoke(spec.logical_id, event)
        except FunctionError as exc:
            print(json.dumps(exc.payload()), file=out)
            print(f"{spec.logical_id} failed: {exc}", file=sys.stderr)
            return 1
        finally:
            invoker.close()
    print(json.dumps(response), file=out)
    return 0
