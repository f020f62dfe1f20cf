"""Kafka event and on-failure record builders (local_runtime.esm.kafka.events), checked with Powertools'
own models and field by field against docs/AWS_EVENT_SOURCES.md."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEvent
from aws_lambda_powertools.utilities.parser.models import KafkaMskEventModel, KafkaSelfManagedEventModel

from local_runtime.esm.kafka.events import (
    KafkaMessage,
    build_kafka_event,
    build_kafka_on_failure_record,
    build_kafka_record,
    event_payload_size,
    headers_to_aws,
    iso_ms,
    message_from_confluent,
)

CLUSTER = "arn:aws:kafka:eu-west-1:123456789012:cluster/logistics/6a1b-4"
SERVERS = ["b-1.local:9092", "b-2.local:9092"]


def msg(partition: int, offset: int, **kw: object) -> KafkaMessage:
    base: dict = {
        "topic": "shipment-events",
        "partition": partition,
        "offset": offset,
        "timestamp_ms": 1_700_000_000_000 + offset,
        "key": f"shp-{offset}".encode(),
        "value": json.dumps({"event_id": f"e{partition}-{offset}"}).encode(),
        "headers": (("trace", b"ab"),),
    }
    base.update(kw)
    return KafkaMessage(**base)  # type: ignore[arg-type]


def test_record_fields_exactly_as_aws() -> None:
    rec = build_kafka_record(msg(3, 15, headers=(("trace", b"ab"), ("trace", b"cd"), ("n", None))))
    assert list(rec) == ["topic", "partition", "offset", "timestamp", "timestampType", "key", "value", "headers"]
    assert rec["topic"] == "shipment-events"
    assert rec["partition"] == 3 and isinstance(rec["partition"], int)
    assert rec["offset"] == 15 and isinstance(rec["offset"], int)
    assert rec["timestamp"] == 1_700_000_000_015
    assert rec["timestampType"] == "CREATE_TIME"
    assert base64.b64decode(rec["key"]) == b"shp-15"
    assert json.loads(base64.b64decode(rec["value"])) == {"event_id": "e3-15"}
    # one single-entry object per header, in order, duplicates kept, values as byte integers
    assert rec["headers"] == [{"trace": [97, 98]}, {"trace": [99, 100]}, {"n": []}]


def test_key_absent_when_null_and_value_absent_for_tombstones() -> None:
    rec = build_kafka_record(msg(0, 1, key=None))
    assert "key" not in rec
    assert "value" in rec
    tomb = build_kafka_record(msg(0, 2, value=None))
    assert "value" not in tomb and "key" in tomb
    # an empty value is not a tombstone
    assert build_kafka_record(msg(0, 3, value=b""))["value"] == ""


def test_header_bytes_are_signed_like_java_and_powertools_decodes_them() -> None:
    raw = "hello-ë".encode()
    assert headers_to_aws([("h", raw)]) == [{"h": [104, 101, 108, 108, 111, 45, -61, -85]}]
    event = build_kafka_event([msg(0, 0, headers=(("h", raw),))], bootstrap_servers=SERVERS, cluster_arn=CLUSTER)
    parsed = KafkaMskEventModel.model_validate(copy.deepcopy(event))
    assert parsed.records["shipment-events-0"][0].headers == [{"h": raw}]
    assert KafkaEvent(event).record.decoded_headers["h"] == raw


def test_msk_event_validates_with_powertools_and_groups_partitions_in_offset_order() -> None:
    messages = [msg(1, 7), msg(0, 5), msg(1, 6), msg(0, 4, key=None)]
    event = build_kafka_event(messages, bootstrap_servers=SERVERS, source="MSK", cluster_arn=CLUSTER)
    assert list(event) == ["eventSource", "eventSourceArn", "bootstrapServers", "records"]
    assert event["eventSource"] == "aws:kafka"
    assert event["eventSourceArn"] == CLUSTER
    assert event["bootstrapServers"] == "b-1.local:9092,b-2.local:9092"
    assert list(event["records"]) == ["shipment-events-1", "shipment-events-0"]
    assert [r["offset"] for r in event["records"]["shipment-events-1"]] == [6, 7]
    assert [r["offset"] for r in event["records"]["shipment-events-0"]] == [4, 5]

    model = KafkaMskEventModel.model_validate(copy.deepcopy(event))
    assert model.eventSourceArn == CLUSTER
    assert model.bootstrapServers == SERVERS
    first = model.records["shipment-events-0"][0]
    assert first.key is None and first.offset == 4 and first.partition == 0
    assert json.loads(first.value) == {"event_id": "e0-4"}
    assert first.timestamp == datetime.fromtimestamp(1_700_000_000.004, tz=UTC)


def test_self_managed_event_has_no_arn_and_validates() -> None:
    event = build_kafka_event([msg(0, 1)], bootstrap_servers="k1:9092", source="SelfManagedKafka")
    assert event["eventSource"] == "SelfManagedKafka"
    assert "eventSourceArn" not in event
    model = KafkaSelfManagedEventModel.model_validate(copy.deepcopy(event))
    assert model.bootstrapServers == ["k1:9092"]
    with pytest.raises(ValueError):
        build_kafka_event([msg(0, 1)], bootstrap_servers="k1:9092", source="MSK")


def test_powertools_batch_processor_reports_failures_in_the_shape_the_mapping_parses() -> None:
    event = build_kafka_event([msg(0, 4), msg(0, 5), msg(2, 9)], bootstrap_servers=SERVERS, cluster_arn=CLUSTER)

    def handler(record: object) -> None:
        if record.offset == 5:  # type: ignore[attr-defined]
            raise ValueError("poison")

    resp = process_partial_response(event=event, record_handler=handler, processor=BatchProcessor(EventType.Kafka))
    assert resp == {"batchItemFailures": [{"itemIdentifier": {"partition": "shipment-events-0", "offset": 5}}]}


def test_message_from_confluent_maps_timestamps_and_nulls() -> None:
    class FakeMessage:
        def __init__(self, ts: tuple[int, int], headers: list | None) -> None:
            self._ts, self._headers = ts, headers

        def topic(self) -> str:
            return "t"

        def partition(self) -> int:
            return 2

        def offset(self) -> int:
            return 9

        def timestamp(self) -> tuple[int, int]:
            return self._ts

        def key(self) -> None:
            return None

        def value(self) -> bytes:
            return b"v"

        def headers(self) -> list | None:
            return self._headers

    m = message_from_confluent(FakeMessage((2, 1234), [("a", b"x")]))
    assert (m.timestamp_type, m.timestamp_ms, m.key, m.headers) == ("LOG_APPEND_TIME", 1234, None, (("a", b"x"),))
    m = message_from_confluent(FakeMessage((1, 99), None))
    assert (m.timestamp_type, m.timestamp_ms, m.headers) == ("CREATE_TIME", 99, ())
    m = message_from_confluent(FakeMessage((0, 0), None))
    assert (m.timestamp_type, m.timestamp_ms) == ("CREATE_TIME", -1)


def test_on_failure_record_shape() -> None:
    event = build_kafka_event([msg(0, 4), msg(0, 6), msg(1, 2)], bootstrap_servers=SERVERS, cluster_arn=CLUSTER)
    now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    doc = build_kafka_on_failure_record(
        event,
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:ingest",
        approximate_invoke_count=3,
        request_id="req-1",
        now=now,
    )
    assert doc["requestContext"] == {
        "requestId": "req-1",
        "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:ingest",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 3,
    }
    assert doc["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert doc["version"] == "1.0"
    assert doc["timestamp"] == "2026-01-02T03:04:05.678Z"
    info = doc["KafkaBatchInfo"]
    assert info["batchSize"] == 3
    assert info["eventSourceArn"] == CLUSTER
    assert info["bootstrapServers"] == "b-1.local:9092,b-2.local:9092"
    assert info["payloadSize"] == event_payload_size(event) > 0
    assert info["recordsInfo"] == {
        "shipment-events-0": {
            "firstRecordOffset": "4",
            "lastRecordOffset": "6",
            "firstRecordTimestamp": iso_ms(1_700_000_000.004),
            "lastRecordTimestamp": iso_ms(1_700_000_000.006),
        },
        "shipment-events-1": {
            "firstRecordOffset": "2",
            "lastRecordOffset": "2",
            "firstRecordTimestamp": "2023-11-14T22:13:20.002Z",
            "lastRecordTimestamp": "2023-11-14T22:13:20.002Z",
        },
    }
    assert "payload" not in doc  # SQS / SNS destinations get metadata only
    json.dumps(doc)  # serialisable as is


def test_on_failure_record_with_payload_and_without_function_error() -> None:
    event = build_kafka_event([msg(0, 1)], bootstrap_servers="k:9092", source="SelfManagedKafka")
    doc = build_kafka_on_failure_record(
        event,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        condition="MaximumPayloadSizeExceeded",
        approximate_invoke_count=0,
        status_code=413,
        function_error=None,
        include_payload=True,
    )
    assert doc["payload"] == event
    assert "functionError" not in doc["responseContext"]
    assert doc["responseContext"]["statusCode"] == 413
    assert "eventSourceArn" not in doc["KafkaBatchInfo"]
    assert doc["requestContext"]["condition"] == "MaximumPayloadSizeExceeded"
    assert doc["timestamp"].endswith("Z") and len(doc["timestamp"]) == len("2026-01-02T03:04:05.678Z")
