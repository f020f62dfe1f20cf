"""KafkaEventSourceMapping against a real Tansu broker and a real moto server.

Every test uses its own topic and consumer group (the group id derives from the mapping name).
Consumers join with ``session.timeout.ms=2000`` (Tansu makes a first join wait about half of it; the
heartbeat interval must then be well below librdkafka's 3 s default).
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
import uuid
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import KafkaMskEventModel, KafkaSelfManagedEventModel
from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from local_runtime.esm.kafka.mapping import KafkaEventSourceMapping
from local_runtime.esm.spec import MappingSpec, OnFailureDestination
from local_runtime.services.aws import service_endpoint

REGION = "eu-west-1"
CLUSTER_ARN = "arn:aws:kafka:eu-west-1:123456789012:cluster/logistics/0f1e2d3c-aaaa-bbbb-cccc-111122223333-1"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:ingest"
FAST = {"session.timeout.ms": 2000, "heartbeat.interval.ms": 250}


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def kafka(kafka_bootstrap: str) -> str:
    """Bootstrap servers of the suite's Tansu broker (tests/conftest.py)."""
    return kafka_bootstrap


@pytest.fixture
def moto_url(moto_endpoint: str) -> str:
    """Endpoint of the suite's moto server (tests/conftest.py)."""
    return moto_endpoint


def client(moto_url: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=service_endpoint(service, moto_url), region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
    )


@pytest.fixture
def sqs_queue(moto_url: str) -> tuple[Any, str, str]:
    """(sqs client, queue url, queue arn) of a fresh queue."""
    sqs = client(moto_url, "sqs")
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


# ------------------------------------------------------------------------------------------ helpers


def new_topic(servers: str, partitions: int = 1) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": servers})
    for f in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
        f.result(10)
    return name


def produce(servers: str, topic: str, messages: list[dict[str, Any]]) -> dict[int, int]:
    """Produce ``messages`` (kwargs of Producer.produce) one by one; returns log end per partition
    from the delivery reports (Tansu's high watermark is unreliable after multi-record batches)."""
    producer = Producer({"bootstrap.servers": servers, "linger.ms": 0})
    ends: dict[int, int] = {}

    def delivered(err: Any, msg: Any) -> None:
        assert err is None, err
        ends[msg.partition()] = max(ends.get(msg.partition(), 0), msg.offset() + 1)

    for m in messages:
        producer.produce(topic, on_delivery=delivered, **m)
    assert producer.flush(10) == 0
    return ends


def spec(topic: str, **kw: Any) -> MappingSpec:
    base: dict[str, Any] = {
        "name": f"ev-{uuid.uuid4().hex[:8]}",
        "function_logical_id": "IngestFunction",
        "kind": "MSK",
        "topics": (topic,),
        "cluster_arn": CLUSTER_ARN,
        "starting_position": "TRIM_HORIZON",
        "batch_size": 100,
        "maximum_batching_window_s": 0.3,
    }
    base.update(kw)
    return MappingSpec(**base)


def mapping(s: MappingSpec, invoke: Any, servers: str, **kw: Any) -> KafkaEventSourceMapping:
    kw.setdefault("consumer_config", FAST)
    kw.setdefault("retry_backoff_s", 0.01)
    kw.setdefault("max_retry_backoff_s", 0.05)
    return KafkaEventSourceMapping(s, invoke, servers, FUNCTION_ARN, **kw)


def broker_committed(servers: str, group: str) -> dict[int, int]:
    """Committed offsets of ``group`` as the broker reports them (partition -> offset)."""
    admin = AdminClient({"bootstrap.servers": servers})
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
    result = futures[group].result(10)
    return {tp.partition: tp.offset for tp in result.topic_partitions if tp.offset >= 0}


def offsets_of(event: dict[str, Any]) -> dict[str, list[int]]:
    return {k: [r["offset"] for r in v] for k, v in event["records"].items()}


def values_of(event: dict[str, Any]) -> list[Any]:
    return [json.loads(base64.b64decode(r["value"])) for recs in event["records"].values() for r in recs]


class Recorder:
    """An invoke callable recording events (and times), answering with ``respond(event, n)``."""

    def __init__(self, respond: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.respond = respond

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(copy.deepcopy(event))
        self.times.append(time.monotonic())
        if self.respond is not None:
            return self.respond(event, len(self.events))
        return None

    @property
    def records(self) -> int:
        return sum(len(v) for e in self.events for v in e["records"].values())


# ------------------------------------------------------------------------------------------ tests


def test_event_shape_msk_and_self_managed(kafka: str) -> None:
    topic = new_topic(kafka, partitions=2)
    ts = 1_767_225_600_000  # fixed CREATE_TIME timestamps
    produce(
        kafka,
        topic,
        [
            {
                "partition": 0,
                "key": b"shp-1",
                "value": b'{"n": 1}',
                "timestamp": ts,
                "headers": [("trace", b"ab"), ("enc", "ë".encode())],
            },
            {"partition": 0, "key": None, "value": b'{"n": 2}', "timestamp": ts + 1},
            {"partition": 1, "key": b"shp-2", "value": None, "timestamp": ts + 2},  # tombstone
            {"partition": 1, "key": b"shp-3", "value": b"plain text", "timestamp": ts + 3},
        ],
    )
    msk = Recorder()
    m = mapping(spec(topic, batch_size=10, maximum_batching_window_s=1.0), msk, kafka)
    m.run_until(lambda: msk.records >= 4, timeout=20)
    m.stop()

    by_key: dict[str, list[dict[str, Any]]] = {}
    for event in msk.events:
        assert list(event) == ["eventSource", "eventSourceArn", "bootstrapServers", "records"]
        assert event["eventSource"] == "aws:kafka"
        assert event["eventSourceArn"] == CLUSTER_ARN
        assert event["bootstrapServers"] == kafka
        for key, recs in event["records"].items():
            by_key.setdefault(key, []).extend(recs)
        # Powertools' own model accepts the event (tombstones aside: its model requires `value`)
        without_tombstones = copy.deepcopy(event)
        for key in without_tombstones["records"]:
            without_tombstones["records"][key] = [r for r in without_tombstones["records"][key] if "value" in r]
        model = KafkaMskEventModel.model_validate(without_tombstones)
        assert model.bootstrapServers == [kafka]

    p0, p1 = by_key[f"{topic}-0"], by_key[f"{topic}-1"]
    assert [r["offset"] for r in p0] == [0, 1] and [r["offset"] for r in p1] == [0, 1]
    first = p0[0]
    assert first == {
        "topic": topic,
        "partition": 0,
        "offset": 0,
        "timestamp": ts,
        "timestampType": "CREATE_TIME",
        "key": base64.b64encode(b"shp-1").decode(),
        "value": base64.b64encode(b'{"n": 1}').decode(),
        "headers": [{"trace": [97, 98]}, {"enc": [-61, -85]}],
    }
    assert "key" not in p0[1] and p0[1]["headers"] == []
    assert "value" not in p1[0] and p1[0]["key"] == base64.b64encode(b"shp-2").decode()
    assert base64.b64decode(p1[1]["value"]) == b"plain text"

    # Self-managed Kafka: same records, other eventSource, no eventSourceArn.
    smk = Recorder()
    s2 = spec(topic, kind="SelfManagedKafka", cluster_arn=None, bootstrap_servers=("ignored:9092",), batch_size=10)
    m2 = mapping(s2, smk, kafka)
    m2.run_until(lambda: smk.records >= 4, timeout=20)
    m2.stop()
    for event in smk.events:
        assert event["eventSource"] == "SelfManagedKafka" and "eventSourceArn" not in event
        assert event["bootstrapServers"] == kafka  # where the mapping really consumed from
        event = copy.deepcopy(event)
        for key in event["records"]:
            event["records"][key] = [r for r in event["records"][key] if "value" in r]
        KafkaSelfManagedEventModel.model_validate(event)


def test_batch_size_and_batching_window(kafka: str) -> None:
    # Size: 7 records already in the topic, BatchSize 3 -> 3 + 3 at once, the last 1 after the window.
    topic = new_topic(kafka)
    produce(kafka, topic, [{"value": json.dumps({"i": i}).encode()} for i in range(7)])
    rec = Recorder()
    m = mapping(spec(topic, batch_size=3, maximum_batching_window_s=1.5), rec, kafka)
    m.run_until(lambda: rec.records >= 7, timeout=20)
    m.stop()
    assert [offsets_of(e)[f"{topic}-0"] for e in rec.events] == [[0, 1, 2], [3, 4, 5], [6]]
    assert rec.times[1] - rec.times[0] < 0.5  # size-triggered, no waiting
    assert rec.times[2] - rec.times[0] >= 1.2  # the leftover waited for its window

    # Window: a record arriving 0.4 s after the first joins its batch; one arriving later does not.
    topic = new_topic(kafka)
    rec = Recorder()
    m = mapping(spec(topic, batch_size=100, maximum_batching_window_s=1.0), rec, kafka)
    m.run_until(lambda: bool(m.status()["assigned"]), timeout=20)
    produced_at: list[float] = []

    def producer() -> None:
        for i, pause in enumerate([0.0, 0.4, 2.0]):
            time.sleep(pause)
            produced_at.append(time.monotonic())
            produce(kafka, topic, [{"value": json.dumps({"i": i}).encode()}])

    t = threading.Thread(target=producer)
    t.start()
    m.run_until(lambda: rec.records >= 3, timeout=20)
    t.join()
    m.stop()
    assert [offsets_of(e)[f"{topic}-0"] for e in rec.events] == [[0, 1], [2]]
    assert rec.times[0] - produced_at[0] >= 0.9  # held for the window, not sent at once


def test_function_error_retries_whole_batch_without_partial_responses(kafka: str) -> None:
    topic = new_topic(kafka)
    ends = produce(kafka, topic, [{"value": json.dumps({"i": i}).encode()} for i in range(4)])

    def respond(event: dict[str, Any], n: int) -> Any:
        if n <= 2:
            raise RuntimeError("downstream unavailable")
        # Without ReportBatchItemFailures configured, a partial response is just a return value.
        return {"batchItemFailures": [{"itemIdentifier": {"partition": f"{topic}-0", "offset": 2}}]}

    rec = Recorder(respond)
    m = mapping(spec(topic, batch_size=10), rec, kafka)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    assert [offsets_of(e) for e in rec.events] == [{f"{topic}-0": [0, 1, 2, 3]}] * 3
    c = m.counters
    assert (c.invocations, c.function_errors, c.retries, c.records_delivered) == (3, 2, 2, 4)
    assert broker_committed(kafka, m.group_id) == ends == {0: 4}


def test_partial_batch_response_retries_each_partition_from_lowest_failed_offset(kafka: str) -> None:
    topic = new_topic(kafka, partitions=2)
    ends = produce(
        kafka,
        topic,
        [{"partition": p, "value": json.dumps({"p": p, "i": i}).encode()} for p in (0, 1) for i in range(5)],
    )
    fail_once = {(0, 2), (0, 4), (1, 3)}
    seen: set[tuple[int, int]] = set()
    committed_before_retry: list[dict[int, int]] = []
    group: list[str] = []

    def handle(record: Any) -> None:
        key = (record.partition, record.offset)
        first_time = key not in seen
        seen.add(key)
        if key in fail_once and first_time:
            raise ValueError(f"transient failure for {key}")

    def respond(event: dict[str, Any], n: int) -> Any:
        if n == 2:
            committed_before_retry.append(broker_committed(kafka, group[0]))
        return process_partial_response(event=event, record_handler=handle, processor=BatchProcessor(EventType.Kafka))

    rec = Recorder(respond)
    m = mapping(spec(topic, report_batch_item_failures=True, maximum_batching_window_s=1.5), rec, kafka)
    group.append(m.group_id)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    assert offsets_of(rec.events[0]) == {f"{topic}-0": [0, 1, 2, 3, 4], f"{topic}-1": [0, 1, 2, 3, 4]}
    # retried per partition from the lowest failed offset; later successes in that partition are retried too
    assert offsets_of(rec.events[1]) == {f"{topic}-0": [2, 3, 4], f"{topic}-1": [3, 4]}
    assert len(rec.events) == 2
    assert committed_before_retry == [{0: 2, 1: 3}]  # committed up to the lowest failed offset
    assert broker_committed(kafka, m.group_id) == ends == {0: 5, 1: 5}
    assert m.counters.partial_failures == 1 and m.counters.function_errors == 0


def test_malformed_partial_response_fails_the_whole_batch(kafka: str) -> None:
    topic = new_topic(kafka)
    produce(kafka, topic, [{"value": b"{}"} for _ in range(3)])
    answers = [
        {"batchItemFailures": [{"itemIdentifier": {"partition": f"{topic}-0"}}]},  # no offset
        {"batchItemFailures": [{"itemIdentifier": {"partition": f"{topic}-0", "offset": 99}}]},  # not in batch
        {"batchItemFailures": [{"foo": "bar"}]},  # no itemIdentifier
        {"batchItemFailures": []},  # success
    ]
    rec = Recorder(lambda event, n: answers[n - 1])
    m = mapping(spec(topic, report_batch_item_failures=True), rec, kafka)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    assert [offsets_of(e) for e in rec.events] == [{f"{topic}-0": [0, 1, 2]}] * 4
    assert m.counters.failures == 3 and m.counters.records_delivered == 3


def test_bisect_on_function_error_isolates_the_poison_record(kafka: str) -> None:
    topic = new_topic(kafka)
    values = [{"i": 0}, {"i": 1}, {"i": 2, "poison": True}, {"i": 3}]
    ends = produce(kafka, topic, [{"value": json.dumps(v).encode()} for v in values])

    def respond(event: dict[str, Any], n: int) -> Any:
        if any(v.get("poison") for v in values_of(event)):
            raise ValueError("poison")

    rec = Recorder(respond)
    s = spec(topic, bisect_batch_on_function_error=True, maximum_retry_attempts=1, batch_size=10)
    m = mapping(s, rec, kafka)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    assert [offsets_of(e)[f"{topic}-0"] for e in rec.events] == [[0, 1, 2, 3], [0, 1], [2, 3], [2], [2], [3]]
    assert m.counters.records_discarded == 1  # retries exhausted, no destination: skipped
    assert m.counters.records_delivered == 3
    assert broker_committed(kafka, m.group_id) == ends


def test_retries_exhausted_sends_aws_shaped_record_to_sqs(kafka: str, moto_url: str, sqs_queue: Any) -> None:
    sqs, queue_url, queue_arn = sqs_queue
    topic = new_topic(kafka)
    ends = produce(
        kafka, topic, [{"value": json.dumps({"i": i}).encode(), "timestamp": 1_767_225_600_000 + i} for i in range(3)]
    )

    def respond(event: dict[str, Any], n: int) -> Any:
        raise RuntimeError("always failing")

    rec = Recorder(respond)
    s = spec(topic, maximum_retry_attempts=2, on_failure=OnFailureDestination("sqs", queue_arn))
    m = mapping(s, rec, kafka, sqs_client=client(moto_url, "sqs"))
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    assert len(rec.events) == 3  # 1 + MaximumRetryAttempts
    assert broker_committed(kafka, m.group_id) == ends  # committed past the discarded batch

    msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert len(msgs) == 1
    doc = json.loads(msgs[0]["Body"])
    assert set(doc) == {"requestContext", "responseContext", "version", "timestamp", "KafkaBatchInfo"}
    ctx = doc["requestContext"]
    assert ctx["functionArn"] == FUNCTION_ARN
    assert ctx["condition"] == "RetryAttemptsExhausted"
    assert ctx["approximateInvokeCount"] == 3
    assert uuid.UUID(ctx["requestId"])
    assert doc["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert doc["version"] == "1.0"
    assert doc["timestamp"].endswith("Z") and doc["timestamp"][:4].isdigit()
    info = doc["KafkaBatchInfo"]
    assert info["batchSize"] == 3
    assert info["eventSourceArn"] == CLUSTER_ARN
    assert info["bootstrapServers"] == kafka
    assert info["payloadSize"] > 0
    assert info["recordsInfo"] == {
        f"{topic}-0": {
            "firstRecordOffset": "0",
            "lastRecordOffset": "2",
            "firstRecordTimestamp": "2026-01-01T00:00:00.000Z",
            "lastRecordTimestamp": "2026-01-01T00:00:00.002Z",
        }
    }
    assert "payload" not in doc  # SQS gets metadata only


def test_infinite_retries_with_destination_are_capped_at_ten(kafka: str, moto_url: str, sqs_queue: Any) -> None:
    sqs, queue_url, queue_arn = sqs_queue
    topic = new_topic(kafka)
    produce(kafka, topic, [{"value": b"{}"}])
    rec = Recorder(lambda event, n: 1 / 0)
    s = spec(topic, maximum_retry_attempts=-1, on_failure=OnFailureDestination("sqs", queue_arn))
    m = mapping(s, rec, kafka, sqs_client=client(moto_url, "sqs"), retry_backoff_s=0.001, max_retry_backoff_s=0.001)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    assert len(rec.events) == 11
    doc = json.loads(sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"][0]["Body"])
    assert doc["requestContext"]["approximateInvokeCount"] == 11


def test_old_records_go_to_destination_without_invoking(kafka: str, moto_url: str, sqs_queue: Any) -> None:
    sqs, queue_url, queue_arn = sqs_queue
    topic = new_topic(kafka)
    now_ms = int(time.time() * 1000)
    ends = produce(
        kafka,
        topic,
        [
            {"value": b'{"old": 1}', "timestamp": now_ms - 120_000},
            {"value": b'{"old": 2}', "timestamp": now_ms - 90_000},
            {"value": b'{"new": 1}', "timestamp": now_ms},
        ],
    )
    rec = Recorder()
    s = spec(topic, maximum_record_age_s=60, on_failure=OnFailureDestination("sqs", queue_arn))
    m = mapping(s, rec, kafka, sqs_client=client(moto_url, "sqs"))
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    assert [offsets_of(e)[f"{topic}-0"] for e in rec.events] == [[2]]
    doc = json.loads(sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"][0]["Body"])
    assert doc["requestContext"]["condition"] == "RecordAgeExceeded"
    assert doc["KafkaBatchInfo"]["batchSize"] == 2
    assert "functionError" not in doc["responseContext"]
    assert broker_committed(kafka, m.group_id) == ends


def test_kafka_topic_destination_carries_the_payload(kafka: str) -> None:
    from confluent_kafka import Consumer

    topic, dlt = new_topic(kafka), new_topic(kafka)
    produce(kafka, topic, [{"value": b'{"bad": true}', "key": b"k"}])
    rec = Recorder(lambda event, n: 1 / 0)
    s = spec(topic, maximum_retry_attempts=0, on_failure=OnFailureDestination("kafka", dlt))
    m = mapping(s, rec, kafka)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    reader = Consumer({"bootstrap.servers": kafka, "group.id": f"r-{uuid.uuid4().hex}", "enable.auto.commit": False})
    reader.assign([TopicPartition(dlt, 0, 0)])
    got = None
    deadline = time.monotonic() + 10
    while got is None and time.monotonic() < deadline:
        got = reader.poll(0.2)
    reader.close()
    assert got is not None and got.error() is None
    doc = json.loads(got.value())
    assert doc["requestContext"]["approximateInvokeCount"] == 1
    assert doc["payload"] == rec.events[0]  # Kafka and S3 destinations carry the invocation payload
    # One message per record, keyed by the record's key, with AWS's single-record recordInfo.
    assert got.key() == b"k"
    assert doc["KafkaBatchInfo"]["recordInfo"]["offset"] == "0" and doc["KafkaBatchInfo"]["batchSize"] == 1


def test_filter_criteria_drop_non_matching_records_and_commit_them(kafka: str) -> None:
    topic = new_topic(kafka)
    ends = produce(
        kafka,
        topic,
        [
            {"value": b'{"status": "DELIVERED", "carrier": "dhl"}'},  # 0 match
            {"value": b'{"status": "IN_TRANSIT", "carrier": "dhl"}'},
            {"value": b'{"status": "DELIVERED", "carrier": "ups"}'},
            {"value": b"DELIVERED dhl (not JSON)"},
            {"value": None, "key": b"tombstone"},
            {"value": b'{"status": "DELIVERED", "carrier": "dhl-express", "n": 5}'},  # 5 match
            {"value": b'{"status": "LOST"}'},  # trailing filtered record: must be committed too
        ],
    )
    rec = Recorder()
    pattern = {"value": {"status": ["DELIVERED"], "carrier": [{"prefix": "dhl"}]}}
    m = mapping(spec(topic, filter_patterns=(pattern,)), rec, kafka)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    invoked = [o for e in rec.events for o in offsets_of(e)[f"{topic}-0"]]
    assert invoked == [0, 5]
    assert m.counters.records_filtered == 5
    assert broker_committed(kafka, m.group_id) == ends == {0: 7}


def test_committed_offsets_equal_log_end_after_success(kafka: str) -> None:
    topic = new_topic(kafka, partitions=3)
    ends = produce(
        kafka, topic, [{"key": f"shp-{i % 7}".encode(), "value": json.dumps({"i": i}).encode()} for i in range(60)]
    )
    rec = Recorder()
    m = mapping(spec(topic, batch_size=25, maximum_batching_window_s=0.2), rec, kafka)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    assert rec.records == 60
    assert broker_committed(kafka, m.group_id) == ends
    assert m.committed_offsets() == {f"{topic}-{p}": off for p, off in sorted(ends.items())}
    assert m.counters.lag == 0
    # every payload keeps each partition in offset order, and partitions never interleave across batches
    last: dict[str, int] = {}
    for e in rec.events:
        for key, offs in offsets_of(e).items():
            assert offs == sorted(offs) and offs[0] == last.get(key, -1) + 1
            last[key] = offs[-1]


def test_at_timestamp_starts_at_first_record_at_or_after_the_timestamp(kafka: str) -> None:
    topic = new_topic(kafka)
    base = 1_767_225_600_000
    produce(kafka, topic, [{"value": b"{}", "timestamp": base + i * 1000} for i in range(6)])
    rec = Recorder()
    s = spec(topic, starting_position="AT_TIMESTAMP", starting_position_timestamp=(base + 3000) / 1000)
    m = mapping(s, rec, kafka)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    assert [o for e in rec.events for o in offsets_of(e)[f"{topic}-0"]] == [3, 4, 5]


def test_restart_resumes_from_committed_offsets(kafka: str) -> None:
    topic = new_topic(kafka)
    produce(kafka, topic, [{"value": json.dumps({"i": i}).encode()} for i in range(5)])
    s = spec(topic)
    first = Recorder()
    m1 = mapping(s, first, kafka)
    m1.run_until_idle(timeout=20, idle_s=0.3)
    m1.stop()
    produce(kafka, topic, [{"value": json.dumps({"i": i}).encode()} for i in range(5, 8)])
    second = Recorder()
    m2 = mapping(s, second, kafka)  # same spec -> same consumer group
    m2.run_until_idle(timeout=20, idle_s=0.3)
    m2.stop()
    assert [o for e in first.events for o in offsets_of(e)[f"{topic}-0"]] == [0, 1, 2, 3, 4]
    assert [o for e in second.events for o in offsets_of(e)[f"{topic}-0"]] == [5, 6, 7]


def test_a_restarted_mapping_is_not_behind_on_partitions_without_new_records(kafka: str) -> None:
    """After a restart, a partition that got nothing new is at its committed offset: no lag, and
    ``run_until_idle`` returns (it used to count the whole partition as lag and wait for ever)."""
    topic = new_topic(kafka, partitions=2)
    produce(kafka, topic, [{"value": b"{}", "partition": i % 2} for i in range(6)])
    s = spec(topic)
    m1 = mapping(s, Recorder(), kafka)
    m1.run_until_idle(timeout=20, idle_s=0.3)
    m1.stop()
    produce(kafka, topic, [{"value": b"{}", "partition": 0}])
    second = Recorder()
    m2 = mapping(s, second, kafka)
    m2.run_until_idle(timeout=20, idle_s=0.3)
    m2.stop()
    assert [o for e in second.events for o in offsets_of(e).get(f"{topic}-0", [])] == [3]
    assert m2.counters.lag == 0


def test_background_thread_start_and_stop(kafka: str) -> None:
    topic = new_topic(kafka, partitions=2)
    ends = produce(kafka, topic, [{"value": b"{}", "partition": i % 2} for i in range(10)])
    rec = Recorder()
    m = mapping(spec(topic, maximum_batching_window_s=0.1), rec, kafka)
    m.start()
    assert m.running
    deadline = time.monotonic() + 20
    while m.counters.records_delivered < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    status = m.status()
    m.stop()
    assert not m.running
    assert m.counters.records_delivered == 10
    assert status["running"] and status["invocations"] >= 1
    assert status["assigned"] == [f"{topic}-0", f"{topic}-1"]
    assert broker_committed(kafka, m.group_id) == ends


def test_stop_with_a_deadline_leaves_the_batch_in_flight_uncommitted_until_it_completes(kafka: str) -> None:
    """A stop does not wait past its timeout for an invocation: nothing of that batch is committed then; once
    the invocation completes, its thread commits the batch and leaves the group (never half of it)."""
    topic = new_topic(kafka)
    produce(kafka, topic, [{"value": json.dumps({"i": i}).encode()} for i in range(10)])
    entered, release = threading.Event(), threading.Event()
    events: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> None:
        events.append(event)
        entered.set()
        assert release.wait(30)

    m = mapping(spec(topic, batch_size=100, maximum_batching_window_s=0.2), invoke, kafka)
    m.start()
    assert entered.wait(20)
    started = time.monotonic()
    m.stop(timeout=0.3)
    assert time.monotonic() - started < 2
    assert m.running  # its thread is still in the invocation
    assert broker_committed(kafka, m.group_id) == {}  # nothing of the batch in flight
    release.set()
    deadline = time.monotonic() + 20
    while m.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not m.running and len(events) == 1
    batch = offsets_of(events[0])[f"{topic}-0"]
    # Completed: the whole batch is committed, and nothing after it.
    assert broker_committed(kafka, m.group_id) == {0: batch[-1] + 1}
    m.start()  # a restart after such a stop resumes after the committed batch
    m.stop()


def test_stop_with_a_deadline_commits_a_batch_that_completes_in_time(kafka: str) -> None:
    topic = new_topic(kafka)
    ends = produce(kafka, topic, [{"value": json.dumps({"i": i}).encode()} for i in range(5)])
    entered = threading.Event()

    def invoke(event: dict[str, Any]) -> None:
        entered.set()
        time.sleep(0.3)

    m = mapping(spec(topic, maximum_batching_window_s=0.1), invoke, kafka)
    m.start()
    assert entered.wait(20)
    m.stop(timeout=5)
    assert not m.running
    assert broker_committed(kafka, m.group_id) == ends
