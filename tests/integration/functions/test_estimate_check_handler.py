"""EstimateCheckFunction (scheduled) tells a stalled shipment that it trends late, once: invoked in-process on
the deployed template (DynamoDB Local, or moto without Java), with the notify tests' receiver and inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from logistics.adapters.dynamodb_lanes import DynamoDBLaneStore
from logistics.domain.lanes import Histogram, LaneStats
from logistics.webhook_signature import HEADER, verify
from tests.factories import shipment_event
from tests.integration.functions.test_estimate_notices_handler import estimate_webhooks
from tests.integration.functions.test_notify_handler import AFTERNOON, SECRET, customer_messages, ingest, log_entries
from tests.integration.functions.test_notify_handler import receiver as receiver  # a fixture
from tests.integration.functions.test_notify_handler import world as world  # a fixture

SCHEDULED = {"version": "0", "id": "run-1", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "123456789012", "time": "2026-12-01T12:00:00Z", "region": "us-east-1",
             "resources": ["arn:aws:events:us-east-1:123456789012:rule/estimate-check"], "detail": {}}


def learn_spread(stack) -> None:
    """The merchant learned 50 deliveries after IN_TRANSIT: half in about 30 h, the rest in 80-120 h."""
    hist = Histogram()
    hist.add(30.0, 25)
    hist.add(80.0, 15)
    hist.add(120.0, 10)
    store = DynamoDBLaneStore(stack.client("dynamodb"), stack.physical("LanesTable"))
    assert store.merge("m1", "M#all", LaneStats(50, histograms={"IN_TRANSIT": hist}), "test-window")


def test_a_stalled_shipment_past_its_promise_is_told_once_by_the_scheduled_check(world):
    stack, receiver, queue_url = world
    learn_spread(stack)
    now = datetime.now(UTC)
    promised = (now - timedelta(days=1)).date().isoformat()
    # In transit for 50 h with no event since: a status change would have been checked then, not now.
    ingest(stack, shipment_event("s1", "IN_TRANSIT", (now - timedelta(hours=50)).isoformat(), customer=AFTERNOON,
                                 eta={"date": promised}))
    # A shipment whose status began minutes ago is the notifier's (checked at its change), not the schedule's.
    ingest(stack, shipment_event("s2", "IN_TRANSIT", (now - timedelta(minutes=5)).isoformat(), customer=AFTERNOON,
                                 eta={"date": promised}))
    before = int(now.timestamp())

    first = stack.invoker.invoke("EstimateCheckFunction", SCHEDULED)

    assert first["checked"] == 1 and first["told"] == 1 and first["errors"] == [] and first["left"] == 0
    [(headers, body, payload)] = estimate_webhooks(receiver)
    assert verify(SECRET, body, headers[HEADER]) >= before
    assert payload["id"] == "m1#s1#delivery_estimate_revised#1" and payload["reason"] == "trending_late"
    assert payload["promised_date"] == promised and payload["estimate"]["likely"] > promised
    [message] = customer_messages(stack, queue_url)
    assert message["type"] == "delivery_estimate_revised" and message["estimate"] == payload["estimate"]
    logged = sorted((e["notification_id"], e["outcome"]) for e in log_entries(stack, "m1#s1"))
    assert logged == [("estimate#000001#customer", "sent"), ("estimate#000001#webhook", "sent")]
    record = stack.table("LanesTable").get_item(Key={"merchant_id": "m1", "aggregate": "P#s1"})["Item"]
    assert record["revision"] == 1 and record["original"] == record["prediction"]  # told first: the original
    assert "Item" not in stack.table("LanesTable").get_item(Key={"merchant_id": "m1", "aggregate": "P#s2"})

    # The next run finds the same prediction already told: nothing more is sent.
    second = stack.invoker.invoke("EstimateCheckFunction", {**SCHEDULED, "id": "run-2"})

    assert second["checked"] == 1 and second["told"] == 0 and second["errors"] == []
    assert len(estimate_webhooks(receiver)) == 1 and customer_messages(stack, queue_url) == []
    assert stack.table("LanesTable").get_item(Key={"merchant_id": "m1", "aggregate": "P#s1"})["Item"] == record
