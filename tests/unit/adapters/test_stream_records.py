"""DynamoDB Streams event -> state images: sequence numbers, plain-dict images, absent images as None."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from logistics.adapters.stream_records import stream_images
from logistics.service.notify import StateImages

EVENTS = Path(__file__).resolve().parents[3] / "events" / "notify"


def record(sequence: str, event_name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """A stream record as AWS sends it (NEW_AND_OLD_IMAGES), leaving out the images that are None."""
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": 1795162500.0,
        "Keys": {"merchant_id": {"S": "m1"}, "shipment_id": {"S": "s1"}},
        "SequenceNumber": sequence,
        "SizeBytes": 120,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        data["OldImage"] = old
    if new is not None:
        data["NewImage"] = new
    return {"eventID": f"id-{sequence}", "eventName": event_name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": data}


IMAGE = {
    "merchant_id": {"S": "m1"},
    "shipment_id": {"S": "s1"},
    "status": {"S": "IN_TRANSIT"},
    "rank": {"N": "4"},
    "location": {"M": {"lat": {"N": "52.52"}, "city": {"S": "Berlin"}}},
    "customer": {"M": {"channels": {"L": [{"S": "email"}]}}},
    "corrections": {"N": "0"},
}


def test_images_are_plain_dicts_with_numbers_as_int_or_float() -> None:
    (image,) = stream_images({"Records": [record("100", "MODIFY", IMAGE, IMAGE)]})
    assert image.id == "100"
    assert image.new == {
        "merchant_id": "m1", "shipment_id": "s1", "status": "IN_TRANSIT", "rank": 4,
        "location": {"lat": 52.52, "city": "Berlin"}, "customer": {"channels": ["email"]}, "corrections": 0,
    }
    assert image.old == image.new
    assert type(image.new["rank"]) is int and type(image.new["location"]["lat"]) is float


def test_absent_or_empty_images_are_none() -> None:
    images = stream_images({"Records": [
        record("1", "INSERT", None, IMAGE),
        record("2", "REMOVE", IMAGE, None),
        record("3", "MODIFY", {}, {}),
    ]})
    assert [(i.id, i.old is None, i.new is None) for i in images] == [
        ("1", True, False), ("2", False, True), ("3", True, True)]


def test_records_keep_stream_order() -> None:
    images = stream_images({"Records": [record(s, "MODIFY", IMAGE, IMAGE) for s in ("300", "100", "200")]})
    assert [i.id for i in images] == ["300", "100", "200"]


def test_an_event_without_records_has_no_images() -> None:
    assert stream_images({}) == []
    assert stream_images({"Records": None}) == []
    assert stream_images({"Records": []}) == []


def test_sample_events_decode() -> None:
    for path in sorted(EVENTS.glob("*.json")):
        event = json.loads(path.read_text())
        images = stream_images(event)
        assert [i.id for i in images] == [r["dynamodb"]["SequenceNumber"] for r in event["Records"]], path.name
        assert all(isinstance(i, StateImages) and i.new and i.new["shipment_id"] for i in images), path.name
