"""DynamoDBStreamMapping against a real moto server (DynamoDB, DynamoDB Streams, SQS, S3).

Tables are created in eu-west-1 so the region correction is visible (moto's stream records say
us-east-1); every test has its own table.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamLambdaOnFailureDestinationModel,
    DynamoDBStreamModel,
)

from local_runtime.esm.dynamodb.mapping import DynamoDBStreamMapping, JsonFileCheckpointStore, MemoryCheckpointStore
from local_runtime.esm.spec import MappingSpec, OnFailureDestination
from local_runtime.services.aws import service_endpoint

REGION = "eu-west-1"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:notify"


@pytest.fixture
def moto_url(moto_endpoint: str) -> str:
    """Endpoint of the suite's moto server (tests/conftest.py)."""
    return moto_endpoint


def client(moto_url: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=service_endpoint(service, moto_url), region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
    )


class Table:
    """A fresh table with a NEW_AND_OLD_IMAGES stream."""

    def __init__(self, moto_url: str) -> None:
        self.ddb = client(moto_url, "dynamodb")
        self.name = f"Shipments-{uuid.uuid4().hex[:8]}"
        desc = self.ddb.create_table(
            TableName=self.name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        self.stream_arn: str = desc["LatestStreamArn"]
        # What records name: the same stream in the function's region and account (the emulator's own ARN may
        # read "ddblocal:000000000000", DynamoDB Local's).
        table_and_label = self.stream_arn.split(":", 5)[5]
        self.deployed_arn = f"arn:aws:dynamodb:{REGION}:{FUNCTION_ARN.split(':')[4]}:{table_and_label}"

    def put(self, pk: str, **attrs: Any) -> None:
        item = {"pk": {"S": pk}}
        for k, v in attrs.items():
            item[k] = {"N": str(v)} if isinstance(v, int) else {"B": v} if isinstance(v, bytes) else {"S": str(v)}
        self.ddb.put_item(TableName=self.name, Item=item)

    def delete(self, pk: str) -> None:
        self.ddb.delete_item(TableName=self.name, Key={"pk": {"S": pk}})


@pytest.fixture
def table(moto_url: str) -> Table:
    return Table(moto_url)


@pytest.fixture
def sqs_queue(moto_url: str) -> tuple[Any, str, str]:
    sqs = client(moto_url, "sqs")
    url = sqs.create_queue(QueueName=f"ddb-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


def spec(table: Table, **kw: Any) -> MappingSpec:
    base: dict[str, Any] = {
        "name": f"stream-{uuid.uuid4().hex[:8]}",
        "function_logical_id": "NotifyFunction",
        "kind": "DynamoDB",
        "stream_arn": table.stream_arn,
        "starting_position": "TRIM_HORIZON",
        "batch_size": 100,
        "maximum_batching_window_s": 0,
    }
    base.update(kw)
    return MappingSpec(**base)


def mapping(s: MappingSpec, invoke: Any, moto_url: str, **kw: Any) -> DynamoDBStreamMapping:
    kw.setdefault("retry_backoff_s", 0.01)
    kw.setdefault("max_retry_backoff_s", 0.05)
    return DynamoDBStreamMapping(s, invoke, client(moto_url, "dynamodbstreams"), FUNCTION_ARN, region=REGION, **kw)


class Recorder:
    def __init__(self, respond: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.respond = respond

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(copy.deepcopy(event))
        self.times.append(time.monotonic())
        return self.respond(event, len(self.events)) if self.respond else None

    def keys(self, i: int) -> list[str]:
        return [r["dynamodb"]["Keys"]["pk"]["S"] for r in self.events[i]["Records"]]

    @property
    def all_keys(self) -> list[str]:
        return [k for i in range(len(self.events)) for k in self.keys(i)]


def seqs(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]


# ------------------------------------------------------------------------------------------ tests


def test_event_shape_validated_by_powertools_and_design(table: Table, moto_url: str) -> None:
    table.put("a", status="CREATED", blob=b"\x00\xff")
    table.put("a", status="PICKED_UP")
    table.delete("a")
    rec = Recorder()
    m = mapping(spec(table), rec, moto_url)
    m.run_until_idle()
    assert len(rec.events) == 1
    event = rec.events[0]
    model = DynamoDBStreamModel.model_validate(copy.deepcopy(event))
    assert [r.eventName for r in model.Records] == ["INSERT", "MODIFY", "REMOVE"]
    for r in event["Records"]:
        assert r["eventVersion"] == "1.1"  # moto: 1.0
        assert r["eventSource"] == "aws:dynamodb"
        assert r["awsRegion"] == REGION  # moto: us-east-1
        assert r["eventSourceARN"] == table.deployed_arn
        ddb = r["dynamodb"]
        assert isinstance(ddb["ApproximateCreationDateTime"], int)
        # DynamoDB Local rounds the creation time down to the minute; AWS and moto keep seconds.
        assert -5 < time.time() - ddb["ApproximateCreationDateTime"] < 65
        assert ddb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert ddb["Keys"] == {"pk": {"S": "a"}}
        assert isinstance(ddb["SizeBytes"], int) and ddb["SequenceNumber"].isdigit()
    insert, modify, remove = event["Records"]
    assert insert["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "status": {"S": "CREATED"}, "blob": {"B": "AP8="}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["status"] == {"S": "CREATED"}
    assert modify["dynamodb"]["NewImage"]["status"] == {"S": "PICKED_UP"}
    assert "NewImage" not in remove["dynamodb"] and remove["dynamodb"]["OldImage"]["status"] == {"S": "PICKED_UP"}
    assert int(seqs(event)[0]) < int(seqs(event)[1]) < int(seqs(event)[2])


def test_batch_size_and_batching_window(table: Table, moto_url: str) -> None:
    for i in range(7):
        table.put(f"k{i}")
    rec = Recorder()
    m = mapping(spec(table, batch_size=3), rec, moto_url)
    m.run_until_idle()
    assert [rec.keys(i) for i in range(len(rec.events))] == [["k0", "k1", "k2"], ["k3", "k4", "k5"], ["k6"]]

    # With a window, a write 0.4 s after the first joins its batch; one 1.5 s later does not.
    t2 = Table(moto_url)
    rec = Recorder()
    m = mapping(spec(t2, batch_size=100, maximum_batching_window_s=1.0), rec, moto_url)
    m.run_until_idle()  # positions the iterator (nothing to read yet)
    written: list[float] = []

    def writer() -> None:
        for pk, pause in (("w0", 0.0), ("w1", 0.4), ("w2", 1.5)):
            time.sleep(pause)
            written.append(time.monotonic())
            t2.put(pk)

    th = threading.Thread(target=writer)
    th.start()
    m.run_until(lambda: len(rec.all_keys) >= 3, timeout=10)
    th.join()
    assert [rec.keys(i) for i in range(len(rec.events))] == [["w0", "w1"], ["w2"]]
    assert rec.times[0] - written[0] >= 0.9


def test_function_error_retries_whole_batch(table: Table, moto_url: str) -> None:
    for i in range(3):
        table.put(f"k{i}")

    def respond(event: dict[str, Any], n: int) -> Any:
        if n <= 2:
            raise RuntimeError("SNS unavailable")
        # ReportBatchItemFailures is not configured: this is just a return value, i.e. success
        return {"batchItemFailures": [{"itemIdentifier": seqs(event)[1]}]}

    rec = Recorder(respond)
    m = mapping(spec(table), rec, moto_url)
    m.run_until_idle()
    assert [seqs(e) for e in rec.events] == [seqs(rec.events[0])] * 3
    assert rec.keys(0) == ["k0", "k1", "k2"]
    assert m.checkpoints() == {next(iter(m.checkpoints())): seqs(rec.events[0])[-1]}
    assert (m.counters.function_errors, m.counters.retries, m.counters.records_delivered) == (2, 2, 3)


def test_partial_response_checkpoints_at_lowest_sequence_number(table: Table, moto_url: str) -> None:
    for i in range(6):
        table.put(f"k{i}")
    attempts: dict[str, int] = {}
    checkpoint_at_retry: list[Any] = []
    holder: list[DynamoDBStreamMapping] = []

    def handle(record: Any) -> None:
        pk = record.dynamodb.keys["pk"]
        attempts[pk] = attempts.get(pk, 0) + 1
        if pk in ("k4", "k2") and attempts[pk] == 1:  # reported out of order on purpose
            raise ValueError(f"transient {pk}")

    def respond(event: dict[str, Any], n: int) -> Any:
        if n == 2:
            checkpoint_at_retry.append(dict(holder[0].checkpoints()))
        return process_partial_response(
            event=event, record_handler=handle, processor=BatchProcessor(EventType.DynamoDBStreams)
        )

    rec = Recorder(respond)
    m = mapping(spec(table, report_batch_item_failures=True), rec, moto_url)
    holder.append(m)
    m.run_until_idle()
    first = rec.events[0]
    assert rec.keys(0) == [f"k{i}" for i in range(6)]
    assert rec.keys(1) == ["k2", "k3", "k4", "k5"]  # from the LOWEST failed record on
    assert len(rec.events) == 2
    (shard,) = checkpoint_at_retry[0]
    assert checkpoint_at_retry[0][shard] == seqs(first)[1]  # checkpoint just before k2
    assert m.checkpoints()[shard] == seqs(first)[-1]
    assert m.counters.partial_failures == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifer": "1"}]},  # misspelt key
        {"batchItemFailures": [{"itemIdentifier": "999"}]},  # not in the batch
        {"batchItemFailures": "k1"},
    ],
)
def test_malformed_partial_response_fails_whole_batch(table: Table, moto_url: str, bad: dict) -> None:
    table.put("k0")
    table.put("k1")
    answers = [bad, {"batchItemFailures": None}]
    rec = Recorder(lambda event, n: answers[n - 1])
    m = mapping(spec(table, report_batch_item_failures=True), rec, moto_url)
    m.run_until_idle()
    assert [rec.keys(i) for i in range(len(rec.events))] == [["k0", "k1"], ["k0", "k1"]]
    assert m.counters.failures == 1 and m.counters.function_errors == 0


def test_bisect_on_function_error(table: Table, moto_url: str) -> None:
    for pk in ("k0", "k1", "poison", "k3"):
        table.put(pk)

    def respond(event: dict[str, Any], n: int) -> Any:
        if any(r["dynamodb"]["Keys"]["pk"]["S"] == "poison" for r in event["Records"]):
            raise ValueError("poison record")

    rec = Recorder(respond)
    m = mapping(spec(table, bisect_batch_on_function_error=True, maximum_retry_attempts=1), rec, moto_url)
    m.run_until_idle()
    assert [rec.keys(i) for i in range(len(rec.events))] == [
        ["k0", "k1", "poison", "k3"],
        ["k0", "k1"],
        ["poison", "k3"],
        ["poison"],
        ["poison"],
        ["k3"],
    ]
    assert m.counters.records_discarded == 1 and m.counters.records_delivered == 3


def test_retries_exhausted_on_failure_record_in_sqs(table: Table, moto_url: str, sqs_queue: Any) -> None:
    sqs, queue_url, queue_arn = sqs_queue
    table.put("k0")
    table.put("k1")
    rec = Recorder(lambda event, n: 1 / 0)
    s = spec(table, maximum_retry_attempts=2, on_failure=OnFailureDestination("sqs", queue_arn))
    m = mapping(s, rec, moto_url, sqs_client=client(moto_url, "sqs"))
    m.run_until_idle()
    assert len(rec.events) == 3
    msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert len(msgs) == 1
    doc = json.loads(msgs[0]["Body"])
    model = DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(doc)
    assert model.request_context.condition == "RetryAttemptsExhausted"
    assert doc["requestContext"]["functionArn"] == FUNCTION_ARN
    assert doc["requestContext"]["approximateInvokeCount"] == 3
    assert uuid.UUID(doc["requestContext"]["requestId"])
    assert doc["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert doc["version"] == "1.0" and doc["timestamp"].endswith("Z")
    info = doc["DDBStreamBatchInfo"]
    (shard,) = m.checkpoints()
    event = rec.events[0]
    assert info["shardId"] == shard
    assert info["startSequenceNumber"] == seqs(event)[0] and info["endSequenceNumber"] == seqs(event)[1]
    assert info["batchSize"] == 2
    assert info["streamArn"] == table.deployed_arn
    created = event["Records"][0]["dynamodb"]["ApproximateCreationDateTime"]
    assert info["approximateArrivalOfFirstRecord"] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(created))
    assert "payload" not in doc
    assert m.checkpoints()[shard] == seqs(event)[-1]  # moved past the discarded batch


def test_s3_destination_carries_payload(table: Table, moto_url: str) -> None:
    s3 = client(moto_url, "s3")
    bucket = f"esm-failures-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    table.put("k0")
    rec = Recorder(lambda event, n: 1 / 0)
    s = spec(table, maximum_retry_attempts=0, on_failure=OnFailureDestination("s3", f"arn:aws:s3:::{bucket}"))
    m = mapping(s, rec, moto_url, s3_client=s3)
    m.run_until_idle()
    (obj,) = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert obj["Key"].startswith(f"aws/lambda/{m.uuid}/")
    doc = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    assert doc["payload"] == rec.events[0]
    DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(doc)


def test_filter_criteria_drop_non_matching_records(table: Table, moto_url: str) -> None:
    table.put("a", status="DELIVERED")  # INSERT, matches
    table.put("b", status="IN_TRANSIT")
    table.put("b", status="DELIVERED")  # MODIFY, matches
    table.delete("a")  # REMOVE, filtered
    table.put("c", status="LOST")  # filtered, last: checkpoint must pass it
    pattern = {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"status": {"S": ["DELIVERED"]}}}}
    rec = Recorder()
    m = mapping(spec(table, filter_patterns=(pattern,)), rec, moto_url)
    m.run_until_idle()
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for e in rec.events for r in e["Records"]] == [
        ("INSERT", "a"),
        ("MODIFY", "b"),
    ]
    assert m.counters.records_filtered == 3
    (checkpoint,) = m.checkpoints().values()
    again = Recorder()
    m2 = mapping(spec(table), again, moto_url)  # unfiltered view of the same stream
    m2.run_until_idle()
    assert checkpoint == seqs(again.events[-1])[-1]  # filtered records were checkpointed too


def test_old_records_go_to_destination(table: Table, moto_url: str, sqs_queue: Any) -> None:
    sqs, queue_url, queue_arn = sqs_queue
    table.put("k0")
    table.put("k1")
    rec = Recorder()
    s = spec(table, maximum_record_age_s=60, on_failure=OnFailureDestination("sqs", queue_arn))
    m = mapping(s, rec, moto_url, sqs_client=client(moto_url, "sqs"), clock=lambda: time.time() + 3600)
    m.run_until_idle()
    assert rec.events == []
    doc = json.loads(sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"][0]["Body"])
    assert doc["requestContext"]["condition"] == "RecordAgeExceeded"
    assert doc["requestContext"]["approximateInvokeCount"] == 0
    assert doc["DDBStreamBatchInfo"]["batchSize"] == 2


def test_restart_nothing_lost_nothing_reprocessed(table: Table, moto_url: str, tmp_path: Path) -> None:
    store = JsonFileCheckpointStore(tmp_path / "checkpoints.json")
    s = spec(table, starting_position="LATEST", batch_size=2)
    table.put("before-start")  # LATEST: never delivered
    first = Recorder()
    m1 = mapping(s, first, moto_url, checkpoint_store=store)
    m1.run_until_idle()  # positions at LATEST and remembers when it started
    for i in range(3):
        table.put(f"a{i}")
    m1.run_until_idle()
    m1.stop()
    for i in range(3):
        table.put(f"b{i}")  # written while the mapping is down
    second = Recorder()
    m2 = mapping(s, second, moto_url, checkpoint_store=JsonFileCheckpointStore(tmp_path / "checkpoints.json"))
    m2.run_until_idle()
    assert first.all_keys == ["a0", "a1", "a2"]
    assert second.all_keys == ["b0", "b1", "b2"]
    saved = json.loads((tmp_path / "checkpoints.json").read_text())
    assert [v["sequence_number"] for v in saved.values()] == [seqs(second.events[-1])[-1]]

    # LATEST restart before anything was checkpointed: records written while down are not skipped.
    t2 = Table(moto_url)
    mem = MemoryCheckpointStore()
    s2 = spec(t2, starting_position="LATEST")
    t2.put("old")
    time.sleep(1.1)  # ApproximateCreationDateTime has second resolution
    idle = Recorder()
    m3 = mapping(s2, idle, moto_url, checkpoint_store=mem)
    m3.run_until_idle()
    m3.stop()
    t2.put("while-down")
    later = Recorder()
    mapping(s2, later, moto_url, checkpoint_store=mem).run_until_idle()
    assert idle.events == [] and later.all_keys == ["while-down"]


def test_background_thread_start_and_stop(table: Table, moto_url: str) -> None:
    rec = Recorder()
    m = mapping(spec(table, batch_size=10), rec, moto_url, poll_interval_s=0.05)
    m.start()
    assert m.running
    for i in range(12):
        table.put(f"k{i}")
    deadline = time.monotonic() + 10
    while m.counters.records_delivered < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    m.stop()
    assert not m.running
    assert rec.all_keys == [f"k{i}" for i in range(12)]
    assert m.status()["invocations"] == len(rec.events) >= 2


def test_the_background_loop_reads_a_caught_up_shard_about_four_times_a_second(table: Table, moto_url: str) -> None:
    """At the end of a shard Lambda polls it about 4 times a second; the background loop does not spin on
    GetRecords (each call costs the emulator and the runtime), yet still delivers what arrives."""
    streams = client(moto_url, "dynamodbstreams")
    calls: list[float] = []
    original = streams.get_records

    def counted(**kwargs: Any) -> Any:
        calls.append(time.monotonic())
        return original(**kwargs)

    streams.get_records = counted
    rec = Recorder()
    m = DynamoDBStreamMapping(spec(table), rec, streams, FUNCTION_ARN, region=REGION, poll_interval_s=0.01)
    m.start()
    try:
        deadline = time.monotonic() + 10
        while not m.status()["shards"] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        calls.clear()
        time.sleep(2.0)
        idle_calls = len(calls)
        table.put("late")
        while rec.all_keys != ["late"] and time.monotonic() < deadline + 10:
            time.sleep(0.05)
    finally:
        m.stop()
    assert idle_calls <= 12, f"{idle_calls} GetRecords in 2 s on a caught-up shard"
    assert rec.all_keys == ["late"]
