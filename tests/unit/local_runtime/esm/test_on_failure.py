"""The on-failure envelope and its delivery (local_runtime.esm.on_failure, local_runtime.esm.destinations),
with fake SQS / SNS / S3 clients and a fake Kafka producer."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from local_runtime.esm.destinations import OnFailureSender
from local_runtime.esm.kafka.events import build_kafka_event, build_kafka_on_failure_record
from local_runtime.esm.on_failure import iso_ms, on_failure_envelope
from local_runtime.esm.spec import OnFailureDestination

FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:f"


def test_envelope_defaults_and_optional_function_error() -> None:
    now = datetime(2026, 3, 1, 12, 0, 5, 123456, tzinfo=UTC)
    doc = on_failure_envelope(function_arn=FUNCTION_ARN, approximate_invoke_count=2, request_id="r", now=now)
    assert doc == {
        "requestContext": {
            "requestId": "r",
            "functionArn": FUNCTION_ARN,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 2,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-03-01T12:00:05.123Z",
    }
    partial = on_failure_envelope(function_arn=FUNCTION_ARN, approximate_invoke_count=1, function_error=None)
    assert "functionError" not in partial["responseContext"]
    assert partial["requestContext"]["requestId"]  # a fresh id when none is known


def test_iso_ms_accepts_epoch_seconds_and_naive_datetimes() -> None:
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_ms(datetime(2026, 1, 2, 3, 4, 5, 6000)) == "2026-01-02T03:04:05.006Z"


class Recorder:
    """Any client: records calls as (method, kwargs)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, kwargs))
            if method == "get_queue_url":
                return {"QueueUrl": f"http://sqs/{kwargs['QueueName']}"}
            return {}

        return call


DOC = {"requestContext": {"condition": "RetryAttemptsExhausted"}}


def test_no_destination_sends_nothing() -> None:
    sender = OnFailureSender(None, mapping_id="m")
    assert not sender.configured and not sender.include_payload
    sender.send(DOC, source_part="p")


def test_a_destination_needs_its_client() -> None:
    with pytest.raises(ValueError, match="needs its client"):
        OnFailureSender(OnFailureDestination("sqs", "arn:aws:sqs:eu-west-1:123456789012:dlq"), mapping_id="m")


def test_sqs_resolves_the_queue_url_once() -> None:
    sqs = Recorder()
    sender = OnFailureSender(
        OnFailureDestination("sqs", "arn:aws:sqs:eu-west-1:123456789012:dlq"), mapping_id="m", sqs_client=sqs
    )
    sender.send(DOC, source_part="p")
    sender.send(DOC, source_part="p")
    assert not sender.include_payload
    assert [m for m, _ in sqs.calls] == ["get_queue_url", "send_message", "send_message"]
    assert sqs.calls[0][1] == {"QueueName": "dlq", "QueueOwnerAWSAccountId": "123456789012"}
    assert sqs.calls[1][1] == {"QueueUrl": "http://sqs/dlq", "MessageBody": json.dumps(DOC, separators=(",", ":"))}


def test_sns_publishes_to_the_topic() -> None:
    sns = Recorder()
    topic = "arn:aws:sns:eu-west-1:123456789012:alerts"
    OnFailureSender(OnFailureDestination("sns", topic), mapping_id="m", sns_client=sns).send(DOC, source_part="p")
    assert sns.calls == [("publish", {"TopicArn": topic, "Message": json.dumps(DOC, separators=(",", ":"))})]


def test_s3_uses_aws_key_layout_and_gets_the_payload() -> None:
    s3 = Recorder()
    sender = OnFailureSender(OnFailureDestination("s3", "arn:aws:s3:::failures"), mapping_id="uuid-1", s3_client=s3)
    assert sender.include_payload
    sender.send(DOC, source_part="shardId-1")
    [(method, kwargs)] = s3.calls
    assert method == "put_object" and kwargs["Bucket"] == "failures"
    assert kwargs["Key"].startswith("aws/lambda/uuid-1/shardId-1/")
    assert json.loads(kwargs["Body"]) == DOC


class Producer:
    def __init__(self, fail: bool = False) -> None:
        self.produced: list[tuple[str, bytes | None, bytes]] = []
        self.fail = fail

    def produce(self, topic: str, key: bytes | None, value: bytes, on_delivery: Any) -> None:
        self.produced.append((topic, key, value))
        on_delivery("broker down" if self.fail else None, None)

    def flush(self, timeout: float) -> int:
        return 0


def _record(topic: str, partition: int, offset: int, key: bytes | None, value: bytes) -> dict[str, Any]:
    record: dict[str, Any] = {"topic": topic, "partition": partition, "offset": offset,
                              "timestamp": 1749116692330 + offset, "timestampType": "CREATE_TIME"}
    if key is not None:
        record["key"] = base64.b64encode(key).decode()
    record["value"] = base64.b64encode(value).decode()
    record["headers"] = []
    return record


def _batch_document() -> dict[str, Any]:
    """What the Kafka mapping hands the sender for a given-up batch of three records on two partitions."""
    event = build_kafka_event(
        [_record("orders", 0, 100, b"k-1", b"v-100"), _record("orders", 0, 101, None, b"v-101"),
         _record("orders", 1, 7, b"k-2", b"v-7")],
        bootstrap_servers="b-1:9098", cluster_arn="arn:aws:kafka:eu-west-1:123456789012:cluster/c/1")
    return build_kafka_on_failure_record(event, function_arn=FUNCTION_ARN, include_payload=True,
                                         approximate_invoke_count=3, request_id="r",
                                         now=datetime(2026, 3, 1, tzinfo=UTC))


def test_kafka_topic_destination_gets_one_message_per_record_in_aws_shape() -> None:
    producer = Producer()
    sender = OnFailureSender(
        OnFailureDestination("kafka", "kafka://dlq-topic"), mapping_id="m", kafka_producer_factory=lambda: producer
    )
    assert sender.include_payload
    document = _batch_document()
    sender.send(document, source_part="orders-0")
    sender.close()
    assert [(topic, key) for topic, key, _ in producer.produced] == [
        ("dlq-topic", b"k-1"), ("dlq-topic", None), ("dlq-topic", b"k-2")]  # the record's own key
    messages = [json.loads(value) for _, _, value in producer.produced]
    first = messages[0]
    # The failure metadata of AWS's "Record format for a Kafka destination" example, field for field.
    assert set(first) == {"requestContext", "responseContext", "version", "timestamp", "KafkaBatchInfo", "payload"}
    assert first["requestContext"] == document["requestContext"]
    assert first["responseContext"] == document["responseContext"]
    assert (first["version"], first["timestamp"]) == ("1.0", "2026-03-01T00:00:00.000Z")
    single = {"eventSource": "aws:kafka", "eventSourceArn": "arn:aws:kafka:eu-west-1:123456789012:cluster/c/1",
              "bootstrapServers": "b-1:9098", "records": {"orders-0": [document["payload"]["records"]["orders-0"][0]]}}
    assert first["payload"] == single
    assert first["KafkaBatchInfo"] == {
        "batchSize": 1,
        "eventSourceArn": "arn:aws:kafka:eu-west-1:123456789012:cluster/c/1",
        "bootstrapServers": "b-1:9098",
        "payloadSize": len(json.dumps(single, separators=(",", ":")).encode()),
        "recordInfo": {"offset": "100", "timestamp": "2025-06-05T09:44:52.430Z"},
    }
    assert [m["KafkaBatchInfo"]["recordInfo"]["offset"] for m in messages] == ["100", "101", "7"]
    assert [base64.b64decode(next(iter(m["payload"]["records"].values()))[0]["value"]) for m in messages] == [
        b"v-100", b"v-101", b"v-7"]


def test_kafka_topic_destination_reports_delivery_errors() -> None:
    failing = OnFailureSender(
        OnFailureDestination("kafka", "kafka://dlq-topic"),
        mapping_id="m",
        kafka_producer_factory=lambda: Producer(fail=True),
    )
    with pytest.raises(RuntimeError, match="broker down"):
        failing.send(_batch_document(), source_part="t-0")
    with pytest.raises(ValueError, match="payload"):
        failing.send(DOC, source_part="t-0")  # a Kafka destination always gets the records themselves
