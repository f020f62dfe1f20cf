"""Fault: DynamoDB throttles a share of the writes. A proxy in front of DynamoDB Local answers 20 % of the
write requests (PutItem, BatchWriteItem, UpdateItem...) with DynamoDB's ProvisionedThroughputExceeded /
Throttling error; the functions reach DynamoDB only through it (their streams go straight to DynamoDB
Local). The retries (botocore's, then the mappings') must end with everything stored and notified once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local_runtime.services.aws import service_endpoint_variable
from local_runtime.simulator.noise import NoiseShares
from tests.e2e.faults.support import Pipeline, assert_nothing_lost_nothing_twice
from tests.e2e.faults.throttling_proxy import ThrottlingProxy

pytestmark = pytest.mark.slow

SHARE = 0.2


def test_throttled_writes_are_retried_until_everything_is_stored_once(
        moto_endpoint: str, kafka_bootstrap: str, dynamodb_endpoint: str | None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if dynamodb_endpoint is None:
        pytest.skip("needs DynamoDB Local (java and the jar from make setup)")
    streams = os.environ.get(service_endpoint_variable("dynamodbstreams")) or dynamodb_endpoint
    with ThrottlingProxy(dynamodb_endpoint, share=0.0, seed=7) as proxy:
        # Before the platform starts: it hands these to the functions (and uses them itself).
        monkeypatch.setenv(service_endpoint_variable("dynamodb"), proxy.url)
        monkeypatch.setenv(service_endpoint_variable("dynamodbstreams"), streams)
        pipeline = Pipeline(moto_endpoint, kafka_bootstrap, tmp_path)
        try:
            assert pipeline.deployed.dynamodb_endpoint == proxy.url
            proxy.share = SHARE  # deployed and seeded: from now on a fifth of the writes are throttled
            summary = pipeline.produce(600, seed=41, shares=NoiseShares(duplicates=0.05, late=0.05, poison=0.02),
                                       rate=300)
            outcome = assert_nothing_lost_nothing_twice(pipeline, pipeline.sink, [summary], name="throttling")
            throttled, forwarded = sum(proxy.throttled.values()), sum(
                n for op, n in proxy.forwarded.items() if op in ("PutItem", "UpdateItem", "DeleteItem",
                                                                 "BatchWriteItem", "TransactWriteItems"))
            counters = pipeline.mapping_counters()
            print(f"[throttling] throttled={dict(proxy.throttled)} writes forwarded={forwarded} "
                  f"share={throttled / (throttled + forwarded):.3f} mapping failures: "
                  f"kafka={counters['kafka_failures']} (partial {counters['kafka_partial_failures']}, retries "
                  f"{counters['kafka_retries']}) stream={counters['stream_failures']} "
                  f"(retries {counters['stream_retries']})")
            # The fault happened (and on every kind of write), and was absorbed by retries.
            assert throttled > 0 and {"PutItem", "BatchWriteItem"} <= set(proxy.throttled)
            assert 0.1 < throttled / (throttled + forwarded) < 0.3
            assert counters["kafka_records_dead_lettered"] == 0 and counters["stream_records_dead_lettered"] == 0
            assert outcome.lost == 0
        finally:
            pipeline.close()
