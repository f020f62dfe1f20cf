"""Notification rules against in-memory ports: once per change and channel, opt-in, quiet hours."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from logistics.domain.notifications import status_change
from logistics.domain.status import Status
from logistics.service.notify import DeliveryFailed, Notifier, StateImages
from tests.fakes.memory import MemoryCustomers, MemoryLog, MemoryMerchants, MemoryOnce, MemoryWebhooks

NOON_BERLIN = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
NIGHT_BERLIN = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)  # 23:30 in Berlin


def state(status: str, event_id: str = "e2", **extra) -> dict:
    return {
        "merchant_id": "m1", "shipment_id": "s1", "status": status, "status_event_id": event_id,
        "status_changed_at": "2026-11-20T10:00:00.000Z", "tracking_token": "tok123",
        "customer": {"contact_ref": "c1", "channels": ["email", "sms"], "timezone": "Europe/Berlin",
                     "quiet_hours": {"start": "21:00", "end": "08:00"}},
        **extra,
    }


@pytest.fixture
def world():
    merchants = MemoryMerchants({"m1": {"merchant_id": "m1", "webhook_url": "http://hook", "webhook_secret": "s"}})
    return merchants, MemoryLog(), MemoryOnce(), MemoryCustomers(), MemoryWebhooks()


def notifier(world, clock=lambda: NOON_BERLIN) -> Notifier:
    merchants, log, once, customers, webhooks = world
    return Notifier(merchants, log, once, customers, webhooks, region="us-east-1",
                    tracking_base_url="http://127.0.0.1:8000/track", clock=clock)


def test_status_change_notifies_webhook_and_customer_once(world):
    _, log, _, customers, webhooks = world
    change = status_change(state("IN_TRANSIT", "e1"), state("OUT_FOR_DELIVERY"))
    n = notifier(world)
    n.handle(change)
    n.handle(change)  # the same stream record delivered again
    assert len(webhooks.delivered) == 1 and len(customers.sent) == 1
    body = json.loads(webhooks.delivered[0][1])
    assert body["status"] == "OUT_FOR_DELIVERY" and body["previous_status"] == "IN_TRANSIT"
    assert body["tracking_url"] == "http://127.0.0.1:8000/track/tok123"
    assert customers.sent[0]["channels"] == ["email", "sms"]
    assert sorted(e["outcome"] for e in log.entries) == ["sent", "sent"]


def test_no_status_change_means_no_notification():
    assert status_change(state("IN_TRANSIT", "e1"), state("IN_TRANSIT", "e1", sub_status="departed")) is None


def test_quiet_hours_defer_customer_message_but_not_webhook(world):
    _, log, _, customers, webhooks = world
    notifier(world, clock=lambda: NIGHT_BERLIN).handle(status_change(state("IN_TRANSIT"), state("DELIVERED")))
    assert customers.sent == [] and len(webhooks.delivered) == 1
    deferred = next(e for e in log.entries if e["channel"] == "customer")
    assert deferred["outcome"] == "deferred"
    assert deferred["due_at"] == "2026-11-21T07:00:00+00:00"  # 08:00 Berlin
    assert json.loads(deferred["message"])["status"] == "DELIVERED"


def test_recipient_without_opt_in_is_skipped_and_logged(world):
    _, log, _, customers, _ = world
    new = state("DELIVERED", customer={"contact_ref": "c1", "channels": []})
    notifier(world).handle(status_change(state("IN_TRANSIT"), new))
    assert customers.sent == []
    assert any(e["channel"] == "customer" and e["outcome"] == "skipped" for e in log.entries)


def test_failed_webhook_raises_and_retry_sends_only_what_is_missing(world):
    _, log, _, customers, webhooks = world
    webhooks.failing = True
    change = status_change(state("IN_TRANSIT"), state("DELIVERED"))
    n = notifier(world)
    with pytest.raises(DeliveryFailed, match="HTTP 500"):
        n.handle(change)
    assert len(customers.sent) == 1
    assert any(e["channel"] == "webhook" and e["outcome"] == "failed" for e in log.entries)
    webhooks.failing = False
    n.handle(change)
    assert len(webhooks.delivered) == 1 and len(customers.sent) == 1


def test_replica_region_does_not_notify(world):
    n = notifier(world)
    assert n.should_handle(state("DELIVERED", written_region="us-east-1"))
    assert not n.should_handle(state("DELIVERED", written_region="eu-west-1"))


def test_batch_fails_only_the_failing_shipment_from_its_failed_change_on(world):
    merchants, _, _, _, webhooks = world
    merchants.merchants["m2"] = {"merchant_id": "m2", "webhook_url": "http://broken", "webhook_secret": "s"}
    ok = status_change(state("IN_TRANSIT"), state("OUT_FOR_DELIVERY"))
    bad_first = status_change(state("IN_TRANSIT"), {**state("OUT_FOR_DELIVERY", "e7"), "merchant_id": "m2"})
    bad_later = status_change(state("OUT_FOR_DELIVERY"), {**state("DELIVERED", "e8"), "merchant_id": "m2"})
    n = notifier(world)
    real = webhooks.deliver

    def deliver(url: str, secret: str, body: bytes) -> dict:
        if url == "http://broken":
            raise RuntimeError("HTTP 503 from http://broken")
        return real(url, secret, body)

    webhooks.deliver = deliver
    failed = n.handle_batch([("seq-1", bad_first), ("seq-2", ok), ("seq-3", bad_later)])
    assert failed == {"seq-1", "seq-3"}  # m2's later change waits for the retry of its first
    assert [json.loads(body)["status"] for _, body in webhooks.delivered] == ["OUT_FOR_DELIVERY"]


def test_changes_keeps_real_status_changes_written_in_this_region(world):
    n = notifier(world)
    images = [
        StateImages("seq-1", state("IN_TRANSIT"), state("OUT_FOR_DELIVERY")),  # a real change
        StateImages("seq-2", state("IN_TRANSIT"), state("IN_TRANSIT", sub_status="departed")),  # same status
        StateImages("seq-3", None, state("CREATED")),  # INSERT: from nothing to a status
        StateImages("seq-4", state("DELIVERED"), None),  # REMOVE: no new state
        StateImages("seq-5", state("IN_TRANSIT"), state("DELIVERED", written_region="eu-west-1")),  # a replica's
    ]
    found = n.changes(images)
    assert [(item_id, change.old_status, change.new_status) for item_id, change in found] == [
        ("seq-1", Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY),
        ("seq-3", None, Status.CREATED),
    ]
