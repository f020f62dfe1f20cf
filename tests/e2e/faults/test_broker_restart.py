"""Fault: the Kafka broker restarts mid-stream. Tansu keeps its log on ``s3://`` storage in the embedded S3
(moto), so the log and the consumer groups' offsets survive; it is stopped and started again on the same port
while the simulator produces and the mappings consume. Nothing is lost: the producer's retries land every
message (perhaps twice: the log end is read, not assumed), the mappings resume from their committed offsets."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from local_runtime.services import aws
from local_runtime.services.aws import free_port
from local_runtime.services.broker import EmbeddedKafka
from local_runtime.simulator.noise import NoiseShares
from tests.e2e.faults.support import Pipeline, assert_nothing_lost_nothing_twice, assert_positive, eventually

pytestmark = pytest.mark.slow


def tansu_on_s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """A fresh bucket on the embedded S3 and the environment Tansu's object store reads (it inherits ours):
    ``AWS_ENDPOINT`` (not ``AWS_ENDPOINT_URL``, which would send every boto3 client of this process to moto),
    plain HTTP allowed, dummy credentials and a region. Returns the storage URL and a port to reuse."""
    bucket = f"tansu-{uuid.uuid4().hex[:8]}"
    aws.client("s3", moto_endpoint, "us-east-1").create_bucket(Bucket=bucket)
    for name, value in {"AWS_ENDPOINT": moto_endpoint, "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    return f"s3://{bucket}/", free_port("127.0.0.1")


def test_a_broker_restart_mid_stream_loses_nothing(moto_endpoint: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    storage, port = tansu_on_s3(moto_endpoint, monkeypatch)
    broker = EmbeddedKafka(storage_engine=storage, port=port)
    # Made now, not at the restart: EmbeddedKafka takes KAFKA_BOOTSTRAP_SERVERS from the environment as an
    # external broker, and while a handler runs in this process its environment (which names the broker) is
    # the process's own - a broker made then would silently start nothing.
    again = EmbeddedKafka(storage_engine=storage, port=port)
    assert not again.is_external
    bootstrap = broker.start()
    pipeline: Pipeline | None = None
    producer: threading.Thread | None = None
    try:
        pipeline = Pipeline(moto_endpoint, bootstrap, tmp_path)
        produced: dict[str, Any] = {}
        p = pipeline
        producer = threading.Thread(target=lambda: produced.update(summary=p.produce(
            900, seed=71, shares=NoiseShares(duplicates=0.03, late=0.03, poison=0.02), rate=90)), daemon=True)
        producer.start()
        eventually(lambda: assert_positive(p.platform.counters()["kafka_records_delivered"]), 60, 0.1)

        stopped = time.monotonic()
        broker.stop()  # SIGTERM (Tansu waits for its clients to hang up), SIGKILL after the grace
        broker = again
        assert broker.start() == bootstrap and broker.pid is not None
        downtime = time.monotonic() - stopped
        delivered_at_restart = p.platform.counters()["kafka_records_delivered"]

        producer.join(180)
        assert not producer.is_alive()
        summary = produced["summary"]
        outcome = assert_nothing_lost_nothing_twice(p, p.sink, [summary], name="broker restart")
        counters = p.mapping_counters()
        print(f"[broker restart] broker down {downtime:.1f} s, records delivered before the restart="
              f"{delivered_at_restart}, producer elapsed {summary.elapsed_s:.1f} s, log records="
              f"{outcome.log_records} (produced {summary.produced}; appended twice {outcome.log_appended_twice}, "
              f"offsets without a record {outcome.log_gaps}), ingest records invoked="
              f"{counters['kafka_records_invoked']}, delivered={counters['kafka_records_delivered']}")
        assert delivered_at_restart < summary.produced  # the restart was mid-stream
        assert outcome.lost == 0
    finally:
        if producer is not None:
            producer.join(180)
        if pipeline is not None:
            pipeline.close()
        broker.stop()
