"""The local runtime in a process of its own, for the SIGKILL fault: ``python -m tests.e2e.faults.runtime_child``.

It runs the platform on services the test started (moto, the broker, DynamoDB Local through
``AWS_ENDPOINT_URL_DYNAMODB``), so they outlive it; stream checkpoints go to ``--state-dir``. Once deployed
and seeded it writes what it deployed (:class:`~tests.e2e.faults.support.Deployed` as JSON) to ``--describe``
and runs until SIGTERM (or until it is killed).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from local_runtime.demo.merchants import seed_merchants
from local_runtime.runtime import LocalPlatform, PlatformOptions
from tests.e2e.faults.support import ROOT, Deployed


class _Receiver:
    """Where the merchants' webhooks go (the test's receiver, in the test's process)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def url_for(self, merchant_id: str) -> str:
        return f"{self.base_url}/{merchant_id}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--aws-endpoint", required=True)
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--suffix", required=True)
    parser.add_argument("--webhooks", required=True, help="base URL of the webhook receiver")
    parser.add_argument("--describe", required=True, help="where to write the deployment as JSON once ready")
    args = parser.parse_args()
    suffix = args.suffix
    topics = (f"shipment-events-{suffix}", f"warehouse-events-{suffix}")
    platform = LocalPlatform(PlatformOptions(
        template=ROOT / "template.yaml",
        stack_name=f"e2e-{suffix}",
        parameter_overrides={"ShipmentTopic": topics[0], "WarehouseTopic": topics[1],
                             "IngestConsumerGroupId": f"ingest-{suffix}", "KafkaSchemaRegistry": "Disabled"},
        dashboard_port=None,
        state_dir=args.state_dir,
        aws_endpoint=args.aws_endpoint,
        kafka_bootstrap=args.kafka,
        consumer_config={"session.timeout.ms": 6000},
    ))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    platform.start()
    try:
        seed_merchants(platform, _Receiver(args.webhooks))  # type: ignore[arg-type]
        describe = Path(args.describe)
        tmp = describe.with_suffix(".tmp")
        tmp.write_text(Deployed.of(platform).to_json(), encoding="utf-8")
        os.replace(tmp, describe)
        stop.wait()
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
