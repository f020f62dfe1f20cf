"""`logistics up`: the whole platform on this machine, a live status line, and a clean Ctrl-C."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from local_runtime.services import aws
from local_runtime.demo.merchants import seed_merchants, start_webhook_sink
from local_runtime.runtime import LocalPlatform, PlatformOptions
from local_runtime.cloudformation.template import parse_parameter_overrides


class StatusLine:
    """One line on the terminal, rewritten every second: produced, ingested, dead-lettered, notified, lag."""

    def __init__(self, platform: LocalPlatform, sink: Any, producer: Any = None, out: TextIO = sys.stderr) -> None:
        self.platform = platform
        self.sink = sink
        self.producer = producer
        self.out = out
        self._dynamodb = aws.client("dynamodb", platform.aws.endpoint_url, platform.region)

    def _items(self, logical_id: str) -> int | str:
        assert self.platform.template is not None
        if logical_id not in (self.platform.deployment.resources if self.platform.deployment else {}):
            return "-"
        table = self.platform.template.physical_name(logical_id)
        try:  # moto keeps ItemCount current; on AWS it lags by hours, which is fine for a local display
            return int(self._dynamodb.describe_table(TableName=table)["Table"]["ItemCount"])
        except Exception:
            return "?"

    def render(self) -> str:
        counters = self.platform.counters()
        produced = self.producer.stats.delivered if self.producer is not None else "-"
        return (f"produced {produced} | ingested {counters['kafka_records_delivered']} "
                f"| dead-lettered {self._items('DeadLetterTable')} "
                f"| webhooks {len(self.sink.deliveries) if self.sink else '-'} "
                f"| notifications logged {self._items('NotificationsTable')} "
                f"| lag {counters['kafka_lag']} | failures {counters['kafka_failures'] + counters['stream_failures']}")

    def show(self) -> None:
        line = self.render()
        if self.out.isatty():
            self.out.write("\r\x1b[2K" + line)
        else:
            self.out.write(line + "\n")
        self.out.flush()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--simulate", action="store_true", help="also produce simulated traffic")
    parser.add_argument("--rate", type=float, default=50.0, help="simulated events per second (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    parser.add_argument("--duration", type=float, help="stop simulating after this many seconds")
    parser.add_argument("--port", type=int, default=8000, help="dashboard port (default 8000; 0 picks one)")
    parser.add_argument("--state-dir", default=".logistics", help="where stream checkpoints are kept")
    parser.add_argument("--partitions", type=int, default=3, help="partitions of the Kafka topics it creates")
    parser.add_argument("--status-every", type=float, default=1.0, help="seconds between status lines")


def run(args: argparse.Namespace) -> int:
    """Start everything, print what runs where, show counters until Ctrl-C / SIGTERM, stop everything."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    options = PlatformOptions(
        template=args.template, config_env=args.config_env,
        parameter_overrides=parse_parameter_overrides(args.parameter_overrides),
        stack_name=args.stack_name, region=args.region, dashboard_port=args.port, state_dir=Path(args.state_dir),
        partitions=args.partitions)
    platform = LocalPlatform(options)
    sink = producer = simulator = log_file = status = None
    stdout = sys.stdout
    try:
        print("starting embedded Kafka and AWS, deploying the template ...", file=sys.stderr)
        platform.start()
        assert platform.template is not None
        if "MerchantsTable" in (platform.deployment.resources if platform.deployment else {}):
            sink = start_webhook_sink()
            merchants = seed_merchants(platform, sink)
        else:
            merchants = []
        log_path = Path(args.state_dir) / "functions.log"
        print(banner(platform, merchants) + f"\nFunction logs (stdout of the handlers): {log_path}\n", flush=True)
        # Handlers print their logs and metrics to stdout, as on Lambda; here they go to a file, like
        # CloudWatch Logs, so the terminal keeps the banner and the status line.
        sys.stdout = log_file = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        if args.simulate:
            producer, simulator = _start_simulator(platform, args, stop)
        status = StatusLine(platform, sink, producer)
        while not stop.wait(args.status_every):
            status.show()
        print("\nstopping ...", file=sys.stderr)
        return 0
    finally:
        stop.set()
        if simulator is not None:
            simulator.join(timeout=15)
        if producer is not None:
            producer.close(5)
            # Drop the producer before the broker goes, or librdkafka keeps reconnecting (and logging) to it.
            producer = status = None
            gc.collect()
        platform.stop()
        if sink is not None:
            sink.stop()
        sys.stdout = stdout
        if log_file is not None:
            log_file.close()
        print("stopped: every process started by `logistics up` has exited", file=sys.stderr)


def _start_simulator(platform: LocalPlatform, args: argparse.Namespace, stop: threading.Event) -> tuple[Any, Any]:
    from local_runtime.simulator.producer import KafkaSink
    from local_runtime.simulator.run import simulate

    assert platform.template is not None
    params = platform.template.parameters
    topics = (params.get("ShipmentTopic") or "shipment-events", params.get("WarehouseTopic") or "warehouse-events")
    producer = KafkaSink(platform.kafka.bootstrap_servers)

    def produce() -> None:
        simulate(producer, rate=args.rate, duration=args.duration, seed=args.seed, topics=topics, progress=False,
                 truth=False, stop=stop.is_set)

    thread = threading.Thread(target=produce, name="simulator", daemon=True)
    thread.start()
    return producer, thread


def banner(platform: LocalPlatform, merchants: list[dict[str, Any]]) -> str:
    """What runs where, and how to sign in."""
    width = max(len(name) for name, _ in platform.describe())
    lines = ["", "Logistics platform running locally (Ctrl-C stops everything):"]
    lines += [f"  {name.ljust(width)}  {where}" for name, where in platform.describe()]
    if merchants:
        lines.append("")
        lines.append("Merchant API keys (local only) - sign in to the dashboard with one of them:")
        lines += [f"  {m['name']:<24} {m['api_key']}" for m in merchants]
    lines.append("")
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - convenience for `python -m local_runtime.cli.up`
    from local_runtime.cli import main as cli_main

    sys.exit(cli_main(["up", *sys.argv[1:]]))
