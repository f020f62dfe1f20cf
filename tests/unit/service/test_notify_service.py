"""Notification rules against in-memory ports: once per change and channel, opt-in, quiet hours, and a
delivery that fails goes to the outbox instead of failing its record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from logistics.domain.notifications import RetryPolicy, status_change
from logistics.domain.status import Status
from logistics.service.notify import Notifier, StateImages, TargetBreaker
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


def notifier(world, clock=lambda: NOON_BERLIN, **options) -> Notifier:
    merchants, log, once, customers, webhooks = world
    return Notifier(merchants, log, once, customers, webhooks, region="us-east-1",
                    tracking_base_url="http://127.0.0.1:8000/track", clock=clock, **options)


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
    assert deferred["due_at"] == "2026-11-21T07:00:00.000+00:00"  # 08:00 Berlin
    assert json.loads(deferred["message"])["status"] == "DELIVERED"


def test_recipient_without_opt_in_is_skipped_and_logged(world):
    _, log, _, customers, _ = world
    new = state("DELIVERED", customer={"contact_ref": "c1", "channels": []})
    notifier(world).handle(status_change(state("IN_TRANSIT"), new))
    assert customers.sent == []
    assert any(e["channel"] == "customer" and e["outcome"] == "skipped" for e in log.entries)


def test_a_failed_webhook_waits_in_the_outbox_with_its_exact_body_and_the_record_succeeds(world):
    _, log, once, customers, webhooks = world
    webhooks.failing = True
    change = status_change(state("IN_TRANSIT"), state("DELIVERED", version=7))
    n = notifier(world, policy=RetryPolicy(base_s=60, cap_s=600, window_s=3600), rand=lambda: 0.5)
    outcomes = {o.channel: o.outcome for o in n.handle(change)}  # no DeliveryFailed: nothing for the stream to retry
    assert outcomes == {"webhook": "retrying", "customer": "sent"} and len(customers.sent) == 1
    waiting = next(e for e in log.entries if e["channel"] == "webhook")
    assert waiting["outcome"] == "retrying" and waiting["attempts"] == 1 and "HTTP 500" in waiting["error"]
    assert waiting["deferred_bucket"] == "deferred"  # in the outbox's index
    assert waiting["first_failed_at"] == "2026-11-20T11:00:00.000+00:00"
    assert waiting["due_at"] == "2026-11-20T11:00:45.000+00:00"  # 30 s + 0.5 * 30 s of jitter
    assert waiting["body"].encode() == n.webhook_body(change)  # the bytes the sweep will send again
    assert json.loads(waiting["body"])["sequence"] == 7
    # The same stream record again: the guard finds the delivery in the outbox and does nothing.
    webhooks.failing = False
    n.handle(change)
    assert webhooks.delivered == [] and len(log.entries) == 2 and len(once.done) == 2


def test_a_failed_customer_message_waits_in_the_outbox_too(world):
    _, log, _, customers, _ = world

    def broken(message: dict) -> str:
        raise RuntimeError("SNS unavailable")

    customers.send = broken
    n = notifier(world)
    n.handle(status_change(state("IN_TRANSIT"), state("DELIVERED")))
    waiting = next(e for e in log.entries if e["channel"] == "customer")
    assert waiting["outcome"] == "retrying" and "SNS unavailable" in waiting["error"]
    assert json.loads(waiting["message"])["status"] == "DELIVERED" and waiting["channels"] == ["email", "sms"]


def test_a_receiver_that_just_failed_is_not_tried_again_for_a_while(world):
    _, log, _, _, webhooks = world
    webhooks.failing = True
    clock = [0.0]
    n = notifier(world, breaker=TargetBreaker(hold_s=10, clock=lambda: clock[0]))
    calls = []
    real = webhooks.deliver
    webhooks.deliver = lambda url, secret, body: calls.append(url) or real(url, secret, body)
    for event_id in ("e1", "e2", "e3"):
        n.handle(status_change(state("IN_TRANSIT"), state("DELIVERED", event_id, status_changed_at=event_id)))
    assert calls == ["http://hook"]  # the first change tried it; the next two went straight to the outbox
    errors = [e["error"] for e in log.entries if e["channel"] == "webhook"]
    assert errors[0].startswith("HTTP 500") and all(e.startswith("not tried: http://hook failed") for e in errors[1:])
    clock[0] = 10.0
    webhooks.failing = False
    n.handle(status_change(state("IN_TRANSIT"), state("DELIVERED", "e4", status_changed_at="e4")))
    assert calls == ["http://hook", "http://hook"] and len(webhooks.delivered) == 1


def test_replica_region_does_not_notify(world):
    n = notifier(world)
    assert n.should_handle(state("DELIVERED", written_region="us-east-1"))
    assert not n.should_handle(state("DELIVERED", written_region="eu-west-1"))


def test_batch_fails_only_the_shipment_whose_outcome_could_not_be_stored_from_that_change_on(world):
    merchants, log, _, _, webhooks = world
    merchants.merchants["m2"] = {"merchant_id": "m2", "webhook_url": "http://broken", "webhook_secret": "s"}
    ok = status_change(state("IN_TRANSIT"), state("OUT_FOR_DELIVERY"))
    bad_first = status_change(state("IN_TRANSIT"), {**state("OUT_FOR_DELIVERY", "e7"), "merchant_id": "m2"})
    bad_later = status_change(state("OUT_FOR_DELIVERY"), {**state("DELIVERED", "e8"), "merchant_id": "m2"})
    down = status_change(state("IN_TRANSIT"), {**state("DELIVERED", "e9"), "shipment_id": "s9"})
    n = notifier(world)
    real_record, real_deliver = log.record, webhooks.deliver

    def record(entry: dict) -> None:
        if entry["merchant_id"] == "m2":
            raise RuntimeError("ProvisionedThroughputExceededException")
        real_record(entry)

    def deliver(url: str, secret: str, body: bytes) -> dict:
        if json.loads(body)["shipment_id"] == "s9":
            raise RuntimeError("HTTP 503 from http://hook")
        return real_deliver(url, secret, body)

    log.record, webhooks.deliver = record, deliver
    result = n.handle_batch([("seq-1", bad_first), ("seq-2", ok), ("seq-3", bad_later), ("seq-4", down)])
    assert result.failed == {"seq-1", "seq-3"}  # m2's later change waits for the retry of its first
    assert result.outcomes == {"sent": 3, "retrying": 1}  # s1: webhook and customer; s9: customer, webhook waits
    # m2's first change was delivered but not recorded: the retry sends it again (receivers de-duplicate on id);
    # its later change was not sent.
    assert sorted((json.loads(body)["merchant_id"], json.loads(body)["status"]) for _, body in webhooks.delivered
                  ) == [("m1", "OUT_FOR_DELIVERY"), ("m2", "OUT_FOR_DELIVERY")]
    assert [e["outcome"] for e in log.entries if e["shipment_id"] == "s9" and e["channel"] == "webhook"] == [
        "retrying"]  # a receiver that is down fails nothing


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
