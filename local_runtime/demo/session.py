"""This project's additions to ``logistics up``: merchants seeded with API keys, their webhooks delivered to
a local verifying sink, optional simulated traffic, and the logistics status line.

:class:`DemoExtension` is wired into the ``up`` command by :mod:`local_runtime.cli.commands`; it opens a
:class:`DemoSession` only when the deployed template declares :data:`MERCHANTS_TABLE`, so ``up`` on any other
template runs the generic platform alone.
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_runtime.demo.status_line import DemoStatusLine
    from local_runtime.runtime import LocalPlatform
    from local_runtime.simulator.clock import LiveGate

__all__ = ["MERCHANTS_TABLE", "DemoExtension", "DemoSession", "declares_demo"]

MERCHANTS_TABLE = "MerchantsTable"
# How long a stop waits for the simulator's producer to deliver what it buffered.
_FLUSH_S = 0.5
# Template parameters naming the topics the simulator produces to, and their defaults.
TOPIC_PARAMETERS = (("ShipmentTopic", "shipment-events"), ("WarehouseTopic", "warehouse-events"))
# The simulated history before live traffic, and how many journeys run at once: 14 days of 400 journeys are
# about 18,000 events (a minute or so of ingest here); live, the same world emits about one event a minute
# per 20 journeys, as real parcels do.
BACKFILL_DAYS = 14.0
JOURNEYS = 400


def declares_demo(platform: LocalPlatform) -> bool:
    """Whether the platform's deployed template has what the demo seeds (a merchants table)."""
    return MERCHANTS_TABLE in (platform.deployment.resources if platform.deployment else {})


class DemoExtension:
    """``--simulate`` and its options on ``logistics up``; a :class:`DemoSession` for this project's template."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The simulator's options of ``logistics up``."""
        parser.add_argument("--simulate", action="store_true", help="also produce simulated traffic")
        parser.add_argument("--rate", type=float, default=None,
                            help="cap on the backfill's events per second (default: full speed)")
        parser.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
        parser.add_argument("--duration", type=float, help="stop simulating after this many seconds")
        parser.add_argument("--backfill-days", type=float, default=BACKFILL_DAYS,
                            help=f"days of history produced at once before live traffic (default {BACKFILL_DAYS:g})")
        parser.add_argument("--journeys", type=int, default=JOURNEYS,
                            help=f"shipments under way at any time (default {JOURNEYS})")

    def session(self, platform: LocalPlatform, args: argparse.Namespace, stop: threading.Event) -> DemoSession | None:
        """A session when the template declares :data:`MERCHANTS_TABLE`, else ``None``."""
        if not declares_demo(platform):
            if args.simulate:
                print(f"--simulate ignored: the template declares no {MERCHANTS_TABLE}", file=sys.stderr)
            return None
        return DemoSession(platform, args, stop)


class DemoSession:
    """Seeds merchants on creation; :meth:`start` starts the simulator (with ``--simulate``)."""

    def __init__(self, platform: LocalPlatform, args: argparse.Namespace, stop: threading.Event) -> None:
        from local_runtime.demo.merchants import seed_merchants, start_webhook_sink

        self.platform = platform
        self.args = args
        self._stop = stop
        self.producer: Any = None
        self.simulator: threading.Thread | None = None
        self._status: DemoStatusLine | None = None
        self.live: LiveGate | None = None
        self.sink = start_webhook_sink()
        try:
            self.merchants = seed_merchants(platform, self.sink)
        except BaseException:
            self.sink.stop()
            raise

    def banner_lines(self) -> list[str]:
        """How to sign in to the dashboard: each merchant's local API key."""
        if not self.merchants:
            return []
        lines = ["", "Merchant API keys (local only) - sign in to the dashboard with one of them:"]
        return lines + [f"  {m['name']:<24} {m['api_key']}" for m in self.merchants]

    def start(self) -> None:
        """Start the simulator when ``--simulate`` was given."""
        from local_runtime.demo.status_line import DemoStatusLine

        if self.args.simulate:
            self.producer, self.simulator = self._start_simulator()
        self._status = DemoStatusLine(self.platform, self.sink, self.producer)

    def _start_simulator(self) -> tuple[Any, threading.Thread]:
        from datetime import timedelta

        from local_runtime.simulator.clock import LiveGate
        from local_runtime.simulator.producer import KafkaSink
        from local_runtime.simulator.registry import with_registry
        from local_runtime.simulator.run import SimClock, simulate

        assert self.platform.template is not None
        params = self.platform.template.parameters
        shipment, warehouse = (params.get(name) or default for name, default in TOPIC_PARAMETERS)
        producer = KafkaSink(self.platform.kafka.bootstrap_servers)
        # Framed with the schema registry when the template's ingest mappings validate with one.
        sink = with_registry(producer, self.platform.template, self.platform.client("glue"))
        args, stop = self.args, self._stop
        # Backfill the history at full speed (or --rate), then follow the wall clock: events are sent as they
        # happen, so the dashboard's "updated" times are now and the ETAs of open shipments lie ahead.
        live = self.live = LiveGate()
        clock = SimClock(live.now() - timedelta(days=args.backfill_days))

        def produce() -> None:
            simulate(sink, rate=args.rate, duration=args.duration, seed=args.seed, topics=(shipment, warehouse),
                     progress=False, truth=False, stop=stop.is_set, flush_timeout=_FLUSH_S, clock=clock,
                     concurrency=args.journeys, live=live)

        thread = threading.Thread(target=produce, name="simulator", daemon=True)
        thread.start()
        return producer, thread

    def status(self) -> str:
        """The logistics status line."""
        if self._status is None:
            self._status = DemoStatusLine(self.platform, self.sink, self.producer)
        line = self._status.render()
        return f"{self.live.describe()} | {line}" if self.live is not None else line

    def stop(self) -> None:
        """Stop the simulator and its producer (the stop event is already set), in about a second at most:
        what the broker has not acknowledged by then is simulated traffic that is simply not sent."""
        if self.simulator is not None:
            self.simulator.join(timeout=_FLUSH_S + 0.5)
        if self.producer is not None:
            self.producer.close(0 if self.simulator is not None and self.simulator.is_alive() else _FLUSH_S)
            # Drop the producer before the broker goes, or librdkafka keeps reconnecting (and logging) to it.
            self.producer = self._status = None
            gc.collect()

    def close(self) -> None:
        """Stop the webhook sink (after the platform, so in-flight deliveries still land)."""
        self.sink.stop()
