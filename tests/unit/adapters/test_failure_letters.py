"""letters_from_failure_message: one message of a kafka:// on-failure destination -> dead letters.

The messages follow AWS's "Record format for a Kafka destination" (docs/AWS_EVENT_SOURCES.md, 1.6): the
failure envelope (requestContext with the condition, KafkaBatchInfo with batchSize 1 and recordInfo) and
``payload``, the invocation event holding the failed record, whose key and value are base64 and whose
headers are one-entry objects of byte lists.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from local_runtime.esm.destinations import kafka_destination_messages
from logistics.adapters.dead_letter import dead_letter_item, letters_from_failure_message

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:stack-IngestFunction-ABC"


def record(value: bytes | None, *, key: bytes | None = b"shp_1", offset: int = 7,
           headers: list[dict[str, list[int]]] | None = None) -> dict[str, Any]:
    return {"topic": "shipment-events", "partition": 2, "offset": offset, "timestamp": 1_763_625_600_000,
            "timestampType": "CREATE_TIME",
            "key": base64.b64encode(key).decode() if key is not None else None,
            "value": base64.b64encode(value).decode() if value is not None else None,
            "headers": headers or []}


def message(*records: dict[str, Any], condition: str = "DESERIALIZATION_ERROR") -> bytes:
    return json.dumps({
        "requestContext": {"requestId": "r-1", "functionArn": FUNCTION_ARN, "condition": condition,
                           "approximateInvokeCount": 0},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "version": "1.0",
        "timestamp": "2026-11-20T08:00:00.000Z",
        "KafkaBatchInfo": {"batchSize": 1, "eventSourceArn": "arn:aws:kafka:us-east-1:1:cluster/c/x",
                           "bootstrapServers": "b-1:9098", "payloadSize": 100,
                           "recordInfo": {"offset": "7", "timestamp": "2025-11-20T08:00:00.000Z"}},
        "payload": {"eventSource": "aws:kafka", "bootstrapServers": "b-1:9098",
                    "records": {"shipment-events-2": list(records)}},
    }).encode()


@pytest.mark.parametrize("raw", [
    b"not json at all",
    b"\xff\xfe binary",
    b"[1, 2, 3]",
    json.dumps({"requestContext": {"condition": "DESERIALIZATION_ERROR"}}).encode(),  # no payload
    json.dumps({"payload": "a string"}).encode(),
])
def test_an_unreadable_message_is_refused_with_a_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        letters_from_failure_message(raw)


def test_key_headers_and_source_of_the_failed_record() -> None:
    value = json.dumps({"event_id": "evt_1", "merchant_id": "m_acme", "status": "NOT_A_STATUS"}).encode()
    # Java's signed bytes: 0xC3 0xA9 ("é") arrive as -61, -87.
    headers = [{"trace-id": [116, 45, 49]}, {"note": [-61, -87]}]
    [letter] = letters_from_failure_message(message(record(value, key=b"\x00shp_1\xff", headers=headers)))
    assert letter.source == "shipment-events-2@7"  # the key of an in-function letter of the same record
    assert letter.key == b"\x00shp_1\xff"
    assert letter.headers == {"trace-id": b"t-1", "note": "é".encode()}
    assert letter.value == value and letter.timestamp_ms == 1_763_625_600_000
    assert (letter.merchant_id, letter.event_id) == ("m_acme", "evt_1")
    assert letter.reason.startswith("DESERIALIZATION_ERROR: ")
    assert letter.reason.endswith("(stack-IngestFunction-ABC's on-failure destination)")
    item = dead_letter_item(letter, now=0)
    assert item["dlq_key"] == "1763625600000#shipment-events-2@7" and item["offset"] == 7
    assert base64.b64decode(item["key_b64"]) == b"\x00shp_1\xff"


def test_a_record_without_key_or_readable_value_is_filed_unattributed() -> None:
    [letter] = letters_from_failure_message(message(record(b"\x03\x00garbage", key=None)))
    assert letter.key is None and letter.headers == {}
    assert letter.value == b"\x03\x00garbage"
    assert (letter.merchant_id, letter.event_id) == (None, None)
    assert dead_letter_item(letter, now=0)["merchant_id"] == "_unattributed"


def test_each_record_of_the_payload_is_a_letter_and_unknown_conditions_keep_their_name() -> None:
    letters = letters_from_failure_message(message(record(b"a", offset=1), record(None, offset=2),
                                                   condition="SomethingNew"))
    assert [letter.source for letter in letters] == ["shipment-events-2@1", "shipment-events-2@2"]
    assert letters[1].value is None
    assert all(letter.reason.startswith("SomethingNew: the Kafka trigger gave the record up") for letter in letters)


def test_what_the_local_destination_writes_reads_back() -> None:
    """The local kafka:// destination's messages (local_runtime/esm/destinations.py) file the same letters."""
    document = json.loads(message(record(b"{}", offset=3, headers=[{"h": [1]}]), record(b"x", offset=4),
                                  condition="RetryAttemptsExhausted"))
    sent = kafka_destination_messages(document)
    assert [key for key, _ in sent] == [b"shp_1", b"shp_1"]
    filed = [letter for _, doc in sent for letter in letters_from_failure_message(json.dumps(doc).encode())]
    assert [(letter.source, letter.value, letter.headers) for letter in filed] == [
        ("shipment-events-2@3", b"{}", {"h": b"\x01"}), ("shipment-events-2@4", b"x", {})]
    assert all("retries ran out" in letter.reason for letter in filed)


def test_a_value_above_the_ingest_limit_keeps_only_its_prefix() -> None:
    big, small = b'{"x": "' + b"a" * 70_000 + b'"}', b'{"x": 1}'
    letters = letters_from_failure_message(message(record(big), record(small, offset=8)), max_event_bytes=65_536)
    assert [letter.oversized for letter in letters] == [True, False]
    item = dead_letter_item(letters[0])
    assert len(json.dumps(item)) < 2_000  # the prefix, length and sha256, not 70 KB
    assert dead_letter_item(letters[1])["value_b64"] == base64.b64encode(small).decode()
