"""NotifyFunction tells a revised delivery estimate once: a signed ``delivery_estimate_revised`` webhook and a
customer message, invoked in-process with real stream records of the state table (DynamoDB Local or moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from logistics.adapters.dynamodb_lanes import DynamoDBLaneStore
from logistics.domain.lanes import Histogram, LaneStats
from logistics.webhook_signature import HEADER, verify
from tests.factories import shipment_event
from tests.integration.functions.test_notify_handler import (
    AFTERNOON,
    SECRET,
    Stream,
    customer_messages,
    ingest,
    log_entries,
)
from tests.integration.functions.test_notify_handler import receiver as receiver  # a fixture
from tests.integration.functions.test_notify_handler import world as world  # a fixture


def learn_merchant_lanes(stack, remaining_hours: float) -> None:
    """The merchant's rollup learned 40 deliveries that took ``remaining_hours`` from IN_TRANSIT."""
    hist = Histogram()
    hist.add(remaining_hours, 40)
    store = DynamoDBLaneStore(stack.client("dynamodb"), stack.physical("LanesTable"))
    assert store.merge("m1", "M#all", LaneStats(40, histograms={"IN_TRANSIT": hist}), "test-window")


def estimate_webhooks(endpoint) -> list[tuple[dict, bytes, dict]]:
    found = []
    for headers, body in endpoint.requests:
        payload = json.loads(body)
        if payload["type"] == "delivery_estimate_revised":
            found.append((headers, body, payload))
    return found


def test_a_shipment_trending_late_is_told_once_signed_and_a_replay_tells_nothing(world):
    stack, receiver, queue_url = world
    learn_merchant_lanes(stack, remaining_hours=100.0)  # about four days still to go
    now = datetime.now(UTC)
    promised = now.date().isoformat()  # promised today: four more days is late
    stream = Stream(stack)
    ingest(stack, shipment_event("s1", "IN_TRANSIT", (now - timedelta(hours=1)).isoformat(), customer=AFTERNOON,
                                 eta={"date": promised}))
    event = stream.next_event()
    before = int(now.timestamp())

    assert stack.invoker.invoke("NotifyFunction", event) == {"batchItemFailures": []}

    [(headers, body, payload)] = estimate_webhooks(receiver)
    assert verify(SECRET, body, headers[HEADER]) >= before
    assert payload["id"] == "m1#s1#delivery_estimate_revised#1" and payload["revision"] == 1
    assert payload["reason"] == "trending_late" and payload["trending_late"] is True
    assert payload["previous"] is None and payload["promised_date"] == promised
    estimate = payload["estimate"]
    assert estimate["earliest"] <= estimate["likely"] <= estimate["latest"] and estimate["likely"] > promised
    messages = customer_messages(stack, queue_url)
    assert sorted(m.get("type", "status") for m in messages) == ["delivery_estimate_revised", "status"]
    [told] = [m for m in messages if m.get("type") == "delivery_estimate_revised"]
    assert told["estimate"] == estimate and "later than first expected" in told["text"]
    assert "basis" not in told and promised not in told["text"]
    logged = sorted((e["notification_id"], e["outcome"]) for e in log_entries(stack, "m1#s1")
                    if e["notification_id"].startswith("estimate#"))
    assert logged == [("estimate#000001#customer", "sent"), ("estimate#000001#webhook", "sent")]
    record = stack.table("LanesTable").get_item(Key={"merchant_id": "m1", "aggregate": "P#s1"})["Item"]
    assert record["revision"] == 1 and record["prediction"]["likely"] == estimate["likely"]

    # The same stream record again (a retried batch): nothing more is told.
    sent = len(receiver.requests)
    assert stack.invoker.invoke("NotifyFunction", event) == {"batchItemFailures": []}
    assert len(receiver.requests) == sent and customer_messages(stack, queue_url) == []


def test_an_estimate_that_did_not_move_and_is_on_time_tells_nothing(world):
    stack, receiver, queue_url = world
    learn_merchant_lanes(stack, remaining_hours=30.0)
    now = datetime.now(UTC)
    stream = Stream(stack)
    ingest(stack, shipment_event("s1", "IN_TRANSIT", (now - timedelta(hours=1)).isoformat(), customer=AFTERNOON,
                                 eta={"date": (now + timedelta(days=10)).date().isoformat()}))
    assert stack.invoker.invoke("NotifyFunction", stream.next_event()) == {"batchItemFailures": []}
    assert estimate_webhooks(receiver) == []
    assert [m.get("type") for m in customer_messages(stack, queue_url)] == [None]  # the status message only
    # Not told, yet kept as the shipment's original prediction (no revision recorded).
    record = stack.table("LanesTable").get_item(Key={"merchant_id": "m1", "aggregate": "P#s1"})["Item"]
    assert "revision" not in record and "prediction" not in record
    assert record["original"]["trending_late"] is False and record["original"]["basis"] == "merchant"
