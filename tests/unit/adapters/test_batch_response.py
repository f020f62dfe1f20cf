"""The partial batch response helper: AWS's batchItemFailures shape for Kafka and DynamoDB Streams."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from logistics.adapters.batch_response import kafka_batch_response, stream_batch_response
from logistics.adapters.kafka_records import inbound_records, record_id

EVENTS = Path(__file__).resolve().parents[3] / "events"


def kafka_event(*coordinates: tuple[str, int, int]) -> dict[str, Any]:
    """A Kafka event (self-managed shape) with one small record per (topic, partition, offset)."""
    records: dict[str, list[dict[str, Any]]] = {}
    for topic, partition, offset in coordinates:
        records.setdefault(f"{topic}-{partition}", []).append({
            "topic": topic, "partition": partition, "offset": offset, "timestamp": 1_763_000_000_000,
            "timestampType": "CREATE_TIME", "value": base64.b64encode(b"{}").decode(), "headers": [],
        })
    return {"eventSource": "SelfManagedKafka", "bootstrapServers": "b:9092", "records": records}


def stream_event(*sequences: str) -> dict[str, Any]:
    """A DynamoDB Streams event with one MODIFY record per sequence number."""
    return {"Records": [
        {"eventID": f"id-{s}", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
         "awsRegion": "us-east-1",
         "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000",
         "dynamodb": {"Keys": {"k": {"S": s}}, "SequenceNumber": s, "SizeBytes": 10,
                      "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        for s in sequences
    ]}


def test_kafka_nothing_failed_is_an_empty_list() -> None:
    event = kafka_event(("shipment-events", 0, 5), ("shipment-events", 1, 9))
    assert kafka_batch_response(event, None, set()) == {"batchItemFailures": []}


def test_kafka_failures_name_topic_partition_and_offset_in_event_order() -> None:
    event = kafka_event(("shipment-events", 0, 5), ("shipment-events", 0, 6), ("warehouse-events", 2, 41))
    failed = {record_id("warehouse-events", 2, 41), record_id("shipment-events", 0, 6)}
    assert kafka_batch_response(event, None, failed) == {"batchItemFailures": [
        {"itemIdentifier": {"partition": "shipment-events-0", "offset": 6}},
        {"itemIdentifier": {"partition": "warehouse-events-2", "offset": 41}},
    ]}


def test_kafka_every_record_failed_is_still_reported_item_by_item() -> None:
    event = kafka_event(("shipment-events", 0, 5), ("shipment-events", 0, 6))
    failed = [record_id("shipment-events", 0, 5), record_id("shipment-events", 0, 6)]
    assert kafka_batch_response(event, None, failed) == {"batchItemFailures": [
        {"itemIdentifier": {"partition": "shipment-events-0", "offset": 5}},
        {"itemIdentifier": {"partition": "shipment-events-0", "offset": 6}},
    ]}


def test_kafka_ids_from_the_adapter_match_the_response() -> None:
    """The ids kafka_records gives the service are the ids the helper looks for (sample MSK event)."""
    event = json.loads((EVENTS / "ingest" / "msk.json").read_text())
    records = inbound_records(event)
    response = kafka_batch_response(event, None, {records[-1].id})
    topic_partition, offset = records[-1].id
    assert response == {"batchItemFailures": [{"itemIdentifier": {"partition": topic_partition, "offset": offset}}]}


def test_kafka_ids_not_in_the_batch_are_ignored() -> None:
    event = kafka_event(("shipment-events", 0, 5))
    assert kafka_batch_response(event, None, {record_id("shipment-events", 0, 99)}) == {"batchItemFailures": []}


def test_stream_failures_name_sequence_numbers() -> None:
    event = stream_event("100", "200", "300")
    assert stream_batch_response(event, None, set()) == {"batchItemFailures": []}
    assert stream_batch_response(event, None, {"300", "100"}) == {
        "batchItemFailures": [{"itemIdentifier": "100"}, {"itemIdentifier": "300"}]}
    assert stream_batch_response(event, None, {"100", "200", "300"}) == {
        "batchItemFailures": [{"itemIdentifier": "100"}, {"itemIdentifier": "200"}, {"itemIdentifier": "300"}]}


def test_stream_sample_event() -> None:
    event = json.loads((EVENTS / "notify" / "status-change.json").read_text())
    sequence = event["Records"][0]["dynamodb"]["SequenceNumber"]
    assert stream_batch_response(event, None, {sequence}) == {"batchItemFailures": [{"itemIdentifier": sequence}]}
