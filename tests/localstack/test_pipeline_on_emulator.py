"""The end-to-end suite on a LocalStack-compatible emulator (MiniStack here, LocalStack with AWS_ENDPOINT_URL):
the template deployed as a user deploys it, IngestFunction and NotifyFunction running inside the emulator,
NotifyFunction driven by the emulator's own DynamoDB Streams poller, IngestFunction by the runtime's Kafka
mapping through the emulator's Invoke API. Same assertions as tests/e2e/test_pipeline.py."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runtime.simulator.noise import NoiseShares
from tests.e2e.faults.support import Pipeline, assert_nothing_lost_nothing_twice, eventually
from tests.e2e.faults.support import assert_equal as _assert_equal
from tests.e2e.faults.support import assert_positive as _assert_positive

pytestmark = [pytest.mark.localstack, pytest.mark.slow]


@pytest.fixture
def pipeline(emulator_endpoint: str, glue_endpoint: str, emulator_python: str | None, kafka_bootstrap: str,
             tmp_path: Path) -> Iterator[Pipeline]:
    p = Pipeline(emulator_endpoint, kafka_bootstrap, tmp_path, functions_in_emulator=True,
                 emulator_python=emulator_python, schedules=False)
    yield p
    p.close()


def test_the_functions_and_the_stream_trigger_live_in_the_emulator(pipeline: Pipeline) -> None:
    emulator = pipeline.platform.emulator
    assert emulator is not None
    client = emulator.lambda_client
    names = {f["FunctionName"] for f in client.list_functions()["Functions"]}
    assert {emulator.functions[i].name for i in ("IngestFunction", "NotifyFunction")} <= names
    notify = client.get_function_configuration(FunctionName=emulator.functions["NotifyFunction"].name)
    assert notify["Handler"] == "app.lambda_handler" and notify["Timeout"] == 60
    assert notify["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "logistics-notify"
    assert len(notify["Layers"]) == 1

    assert set(emulator.stream_mappings) == {"ShipmentChanges", "Deliveries"}  # notify, and the lanes' windows
    uuid = emulator.stream_mappings["ShipmentChanges"]
    mapping = client.get_event_source_mapping(UUID=uuid)
    assert mapping["EventSourceArn"] == pipeline.deployed.stream_arn
    assert mapping["FunctionArn"].endswith(":function:" + emulator.functions["NotifyFunction"].name)
    assert (mapping["BatchSize"], mapping["MaximumRetryAttempts"], mapping["BisectBatchOnFunctionError"]) == (
        100, 5, True)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]] == [
        {"eventName": ["INSERT", "MODIFY"]}]
    queue_arn = pipeline.deployed.client("sqs").get_queue_attributes(
        QueueUrl=pipeline.deployed.queues["NotifyFailureQueue"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
    assert mapping["State"] == "Enabled"



def test_simulated_traffic_lands_as_the_domain_model_says(pipeline: Pipeline) -> None:
    summary = pipeline.produce(600, seed=11, shares=NoiseShares(duplicates=0.05, late=0.05, poison=0.03))
    assert summary.duplicates > 0 and summary.late > 0 and summary.poison > 0
    assert_nothing_lost_nothing_twice(pipeline, pipeline.sink, [summary], name="ministack")
    # Every invocation went to the emulator: the runtime never started a worker of its own.
    assert pipeline.platform.invoker is not None
    assert all(fn.worker_count == 0 for fn in pipeline.platform.invoker.functions.values())


def test_restarting_the_mappings_loses_nothing_and_renotifies_nothing(pipeline: Pipeline) -> None:
    shares = NoiseShares(duplicates=0.05, late=0.05, poison=0.0)
    first = pipeline.produce(200, seed=21, shares=shares)
    eventually(lambda: _assert_positive(pipeline.platform.counters()["kafka_records_delivered"]), 60, 0.05)
    pipeline.platform.stop_mappings()  # mid-stream: Kafka and the emulator's stream mapping both stop
    delivered_before = len(pipeline.sink.deliveries)
    second = pipeline.produce(200, seed=22, shares=shares)
    pipeline.platform.start_mappings()

    totals = Counter(first.per_topic) + Counter(second.per_topic)
    eventually(lambda: _assert_equal(pipeline.committed(), dict(totals)))
    assert_nothing_lost_nothing_twice(pipeline, pipeline.sink, [first, second], name="ministack-restart")
    assert pipeline.sink.duplicates == 0
    assert len(pipeline.sink.deliveries) > delivered_before
