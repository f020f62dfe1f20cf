"""The ``logistics`` command. Thin: argument parsing and wiring; the work lives in the modules it calls.

Subcommands are data: :data:`COMMANDS` maps a name to a :class:`Command` (help, how to add its arguments,
what to run). To add one (``simulate``, ``bench``...), write ``_configure_x`` / ``_run_x`` and add a row.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["COMMANDS", "Command", "add_template_arguments", "load_template_from_args", "main"]


@dataclass(frozen=True)
class Command:
    """One subcommand: ``configure`` adds its arguments, ``run`` returns the exit code."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ---------------------------------------------------------------------------------------------- shared


def add_template_arguments(parser: argparse.ArgumentParser) -> None:
    """``--template``, ``--parameter-overrides``, ``--config-env``, ``--config-file``, ``--region``,
    ``--stack-name``: how every subcommand picks and evaluates a template."""
    parser.add_argument("--template", "-t", default="template.yaml", help="SAM template (default: template.yaml)")
    parser.add_argument("--parameter-overrides", nargs="+", metavar="KEY=VALUE",
                        help='parameter values, SAM style: K=V K2="v 2" (win over samconfig)')
    parser.add_argument("--config-env", default="local", help="samconfig environment (default: local)")
    parser.add_argument("--config-file", help="samconfig file (default: samconfig.toml next to the template)")
    parser.add_argument("--region", help="AWS region (default: AWS_DEFAULT_REGION, samconfig, us-east-1)")
    parser.add_argument("--stack-name", help="stack name (default: samconfig's, else 'local')")


def load_template_from_args(args: argparse.Namespace, *, account_id: str | None = None,
                            endpoint_url: str | None = None) -> Any:
    """Load the template named by :func:`add_template_arguments`' options."""
    from local_runtime.cloudformation.template import load_template

    return load_template(
        args.template, parameter_overrides=args.parameter_overrides, config_env=args.config_env,
        config_file=args.config_file, region=args.region, stack_name=args.stack_name,
        account_id=account_id, endpoint_url=endpoint_url)


def _read_event(source: str | None) -> Any:
    if source is None:
        return {}
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text) if text.strip() else {}


# ---------------------------------------------------------------------------------------------- invoke


def _configure_invoke(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", help="function logical id or name")
    parser.add_argument("--event", "-e", help="event JSON file ('-' for stdin; default: {})")
    add_template_arguments(parser)


def _run_invoke(args: argparse.Namespace) -> int:
    """Container-free `sam local invoke`: deploy the template's resources on the embedded moto (or
    AWS_ENDPOINT_URL), run the handler in-process, print the response JSON on stdout."""
    from local_runtime.deploy import deployer as deploy
    from local_runtime.services import aws
    from local_runtime.invoke.function import FunctionError, Invoker

    event = _read_event(args.event)
    out = sys.stdout
    # The handler's prints and logs go to stderr, so stdout holds only the response (as with sam local invoke).
    with contextlib.redirect_stdout(sys.stderr), aws.EmbeddedAws(region=args.region) as embedded:
        account = aws.account_id(embedded.endpoint_url, embedded.region)
        template = load_template_from_args(args, account_id=account, endpoint_url=embedded.endpoint_url)
        _deployment, template = deploy.deploy_template(template, endpoint_url=embedded.endpoint_url)
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
    print(json.dumps(response), file=out)
    return 0


# ---------------------------------------------------------------------------------------------- deploy


def _configure_deploy(parser: argparse.ArgumentParser) -> None:
    add_template_arguments(parser)
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"),
                        help="moto / LocalStack endpoint (default: AWS_ENDPOINT_URL)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, create nothing")
    parser.add_argument("--kafka-bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                        help="also create the mappings' Kafka topics on this broker")
    parser.add_argument("--partitions", type=int, default=3, help="partitions of new Kafka topics (default 3)")


def _run_deploy(args: argparse.Namespace) -> int:
    """Create the template's tables, topics, queues and buckets on an endpoint; print the physical ids."""
    from dataclasses import asdict

    from local_runtime.deploy import deployer as deploy
    from local_runtime.services import aws

    if args.dry_run:
        template = load_template_from_args(args, endpoint_url=args.endpoint_url)
        the_plan = deploy.plan(template)
        print(json.dumps([{"action": type(i).__name__, **asdict(i)} for i in the_plan.instructions], indent=2))
        return 0
    if not args.endpoint_url:
        print("deploy needs an endpoint: --endpoint-url or AWS_ENDPOINT_URL (an embedded moto would vanish "
              "when this command exits; `logistics up` keeps one running)", file=sys.stderr)
        return 2
    region = args.region or aws.default_region()
    account = aws.account_id(args.endpoint_url, region)
    template = load_template_from_args(args, account_id=account, endpoint_url=args.endpoint_url)
    deployment, template = deploy.deploy_template(template, endpoint_url=args.endpoint_url)
    summary = deployment.to_dict()
    if args.kafka_bootstrap_servers:
        topics = deploy.kafka_topics(template.event_source_mappings())
        summary["kafka_topics"] = deploy.create_kafka_topics(args.kafka_bootstrap_servers, topics,
                                                             partitions=args.partitions)
    print(json.dumps(summary, indent=2))
    return 0


# ---------------------------------------------------------------------------------------------- up


def _configure_up(parser: argparse.ArgumentParser) -> None:
    from local_runtime.cli import up

    add_template_arguments(parser)
    up.configure(parser)


def _run_up(args: argparse.Namespace) -> int:
    from local_runtime.cli import up

    return up.run(args)


# ---------------------------------------------------------------------------------------------- simulate


def _configure_simulate(parser: argparse.ArgumentParser) -> None:
    from local_runtime.simulator.run import add_arguments

    add_arguments(parser)


def _run_simulate(args: argparse.Namespace) -> int:
    from local_runtime.simulator.run import run_from_args

    return run_from_args(args)


# ---------------------------------------------------------------------------------------------- registry


COMMANDS: dict[str, Command] = {
    "invoke": Command("invoke one function locally (container-free `sam local invoke`)", _configure_invoke,
                      _run_invoke),
    "deploy": Command("create the template's resources on moto / LocalStack and print their ids", _configure_deploy,
                      _run_deploy),
    "up": Command("run the whole platform locally (embedded Kafka + AWS)", _configure_up, _run_up),
    "simulate": Command("produce simulated shipment, warehouse and device events to Kafka", _configure_simulate,
                        _run_simulate),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subparser per :data:`COMMANDS` entry."""
    parser = argparse.ArgumentParser(prog="logistics", description="Run the logistics platform locally.")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        command.configure(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``logistics`` console script."""
    from local_runtime.cloudformation.template import TemplateError

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command].run(args)
    except TemplateError as exc:
        print(f"template error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
