"""The simulator's command line (``logistics simulate``): its options, and a run of :func:`.driver.simulate`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from local_runtime.cli.template_args import add_template_arguments, load_template_from_args
from local_runtime.simulator.driver import DEFAULT_TOPICS, simulate
from local_runtime.simulator.noise import NoiseShares
from local_runtime.simulator.producer import JsonLinesSink, KafkaSink, Sink


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError("a share is a fraction in [0, 1)")
    return value


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the clock base with a UTC offset, e.g. 2026-11-01T00:00:00Z")
    return moment


DESCRIPTION = ("Produce simulated shipment and warehouse events (with duplicates, late and poison events) "
               "to Kafka.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's options, added to any parser (``logistics simulate`` hooks in with this)."""
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                        help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS)")
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second; 0 = as fast as possible")
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--count", type=int, help="stop after exactly this many messages")
    stop.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=0, help="same seed and --start give the same bytes")
    parser.add_argument("--start", type=_instant,
                        help="simulated clock base, ISO 8601 with offset (default: early enough that the run "
                             "ends before now)")
    parser.add_argument("--duplicates", type=_share, default=0.02, help="share of duplicate messages")
    parser.add_argument("--late", type=_share, default=0.02, help="share of late (out-of-order) events")
    parser.add_argument("--poison", type=_share, default=0.01, help="share of poison messages")
    parser.add_argument("--concurrency", type=int, help="shipments in flight at once (default: from the size)")
    parser.add_argument("--shipment-topic", default=DEFAULT_TOPICS[0])
    parser.add_argument("--warehouse-topic", default=DEFAULT_TOPICS[1])
    parser.add_argument("--compression", default=None, help="producer compression.type (default lz4)")
    parser.add_argument("--output", help="write JSON lines to this file ('-' = stdout) instead of Kafka")
    parser.add_argument("--truth", metavar="PATH", help="write the summary with the ground truth as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    parser.add_argument("--schema-registry", choices=("auto", "off"), default="auto",
                        help="auto (default): frame values with the Glue registry when the template's Kafka "
                             "mappings declare SchemaRegistryConfig (the registry on the running `logistics up`'s "
                             "AWS endpoint); off: plain JSON")
    parser.add_argument("--endpoint", help="AWS endpoint of the registry (default: AWS_ENDPOINT_URL, else the one "
                                           "a running `logistics up` recorded in --state-dir)")
    parser.add_argument("--state-dir", default=".logistics", help="`logistics up`'s state directory")
    add_template_arguments(parser)


class RegistryUnavailable(Exception):
    """The template's mappings validate with a registry, and the simulator cannot reach it."""


def registry_sink(sink: Sink, args: argparse.Namespace) -> Sink:
    """``sink`` framing values with the template's schema registry (``--schema-registry auto``), else ``sink``."""
    from pathlib import Path

    if args.schema_registry == "off" or not Path(args.template).is_file():
        return sink
    from local_runtime.cli.logs import resolve_target
    from local_runtime.services import aws
    from local_runtime.simulator.registry import registry_topics, with_registry

    template = load_template_from_args(args)
    if registry_topics(template) is None:
        return sink
    target = resolve_target(args, template.context.region)
    if target is None:
        raise RegistryUnavailable(f"{args.template}'s Kafka mappings validate with a schema registry: start "
                                  "`logistics up`, pass --endpoint, or use --schema-registry off")
    return with_registry(sink, template, aws.client("glue", target.endpoint, target.region))


def build_parser() -> argparse.ArgumentParser:
    """The ``logistics simulate`` parser, with the options of :func:`add_arguments`."""
    parser = argparse.ArgumentParser(prog="logistics simulate", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``logistics simulate``: returns the process exit code."""
    return run_from_args(build_parser().parse_args(argv))


def run_from_args(args: argparse.Namespace) -> int:
    """Run with parsed :func:`add_arguments` options; prints the summary JSON; returns the exit code."""
    if args.output is None and not args.bootstrap_servers:
        print("simulate: set --bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS (or use --output FILE)",
              file=sys.stderr)
        return 2
    try:
        shares = NoiseShares(duplicates=args.duplicates, late=args.late, poison=args.poison)
    except ValueError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    if args.output is not None:
        sink: Any = JsonLinesSink.open(args.output)
    else:
        config = {"compression.type": args.compression} if args.compression else None
        try:
            sink = registry_sink(KafkaSink(args.bootstrap_servers, config=config), args)
        except RegistryUnavailable as exc:
            print(f"simulate: {exc}", file=sys.stderr)
            return 2
    # SIGTERM (e.g. from a supervisor) ends the run like Ctrl-C: held-back events go out, then a flush.
    stopping = threading.Event()
    try:
        previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        summary = simulate(
            sink, rate=args.rate, count=args.count, duration=args.duration, seed=args.seed, shares=shares,
            topics=(args.shipment_topic, args.warehouse_topic), progress=not args.no_progress,
            clock=args.start, concurrency=args.concurrency, truth=args.truth is not None, stop=stopping.is_set)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if isinstance(sink, JsonLinesSink):
            sink.close()
    report = summary.to_dict()
    print(json.dumps(report), file=sys.stderr if args.output == "-" else sys.stdout)
    if args.truth:
        with open(args.truth, "w", encoding="utf-8") as fh:
            json.dump(summary.to_dict(truth=True), fh, ensure_ascii=False)
    if summary.delivery_failed or summary.undelivered:
        print(f"simulate: {summary.delivery_failed or 0} delivery failures, {summary.undelivered} undelivered",
              file=sys.stderr)
        return 1
    return 0
