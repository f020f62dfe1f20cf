"""``logistics deploy``: create the template's resources on moto / LocalStack and print their ids."""

from __future__ import annotations

import argparse
import json
import os
import sys

from local_runtime.cli.template_args import add_template_arguments, load_template_from_args

__all__ = ["configure", "run"]

HELP = "create the template's resources on moto / LocalStack and print their ids"


def configure(parser: argparse.ArgumentParser) -> None:
    """Template options, the endpoint, ``--dry-run`` and the optional Kafka broker."""
    add_template_arguments(parser)
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"),
                        help="moto / LocalStack endpoint (default: AWS_ENDPOINT_URL)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, create nothing")
    parser.add_argument("--kafka-bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                        help="also create the mappings' Kafka topics on this broker")
    parser.add_argument("--partitions", type=int, default=3, help="partitions of new Kafka topics (default 3)")
    parser.add_argument("--functions", action="store_true",
                        help="also create the functions (zips of CodeUri, layers) and their DynamoDB Streams "
                             "mappings on the endpoint, as on LocalStack/MiniStack (docs/LOCALSTACK.md)")
    parser.add_argument("--functions-python", default=None,
                        help="with --functions: the interpreter the emulator runs functions with, when it is "
                             "one of this machine (MiniStack: .tools/ministack/bin/python); default: wheels for "
                             "Lambda's image (LocalStack)")


def run(args: argparse.Namespace) -> int:
    """Create the template's tables, topics, queues and buckets on an endpoint; print the physical ids."""
    from dataclasses import asdict

    from local_runtime import deploy
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
    if args.functions:
        from local_runtime.remote.emulator import deploy_to_emulator

        extra = {"KAFKA_BOOTSTRAP_SERVERS": args.kafka_bootstrap_servers} if args.kafka_bootstrap_servers else {}
        emulator = deploy_to_emulator(template, args.endpoint_url, python=args.functions_python,
                                      extra_environment=extra, enable_mappings=True)
        summary["functions"] = {lid: f.arn for lid, f in emulator.functions.items()}
        summary["event_source_mappings"] = emulator.stream_mappings
    print(json.dumps(summary, indent=2))
    return 0
