"""The outbox sweep against in-memory ports: deferred messages go out once when due; failed deliveries are
sent again with the same bytes, rescheduled with backoff while their receiver is down, and given up (marked
failed, dead-lettered) after the window."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from logistics.domain.notifications import RetryPolicy, iso, status_change
from logistics.service.deferred import OutboxSweeper
from logistics.service.notify import Notifier
from tests.fakes.memory import (
    MemoryCustomers,
    MemoryDeadLetters,
    MemoryLog,
    MemoryMerchants,
    MemoryOnce,
    MemoryWebhooks,
)

NIGHT = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)  # 23:30 in Berlin: quiet
MORNING = datetime(2026, 11, 21, 7, 5, tzinfo=UTC)  # 08:05 in Berlin: quiet hours are over
NOON = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
POLICY = RetryPolicy(base_s=60, cap_s=600, window_s=3600)
HOOK = {"merchant_id": "m1", "webhook_url": "http://hook", "webhook_secret": "s"}


class MemoryOutbox:
    """The Outbox port over the in-memory log's entries (the DynamoDB one Queries by_due and claims with a
    conditional UpdateItem: tests/unit/adapters/test_outbox_dynamodb.py)."""

    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self._lock = threading.Lock()

    def _stored(self, entry: dict[str, Any]) -> dict[str, Any]:
        key = (entry["shipment_key"], entry["notification_id"])
        return next(e for e in reversed(self.log.entries) if (e["shipment_key"], e["notification_id"]) == key)

    def due(self, now_iso: str, limit: int) -> list[dict[str, Any]]:
        with self._lock:  # copies: what a sweep read, as the index would return it
            found = [dict(e) for e in self.log.entries if e.get("deferred_bucket") and e["due_at"] <= now_iso]
        return sorted(found, key=lambda e: e["due_at"])[:limit]

    def claim(self, entry: dict[str, Any], lease_until_iso: str) -> str | None:
        with self._lock:
            stored = self._stored(entry)
            if not stored.get("deferred_bucket") or (stored["outcome"], stored["due_at"]) != (
                    entry["outcome"], entry["due_at"]):
                return None
            token = uuid.uuid4().hex
            stored.update(outcome="sending", due_at=lease_until_iso, claimed_by=token)
            return token

    def settle(self, entry: dict[str, Any], token: str, changes: dict[str, Any], done: bool) -> bool:
        with self._lock:
            stored = self._stored(entry)
            if stored.get("claimed_by") != token:
                return False
            for name, value in {**changes, "claimed_by": None}.items():
                if value is None:
                    stored.pop(name, None)
                else:
                    stored[name] = value
            if done:
                for name in ("deferred_bucket", "body", "message"):
                    stored.pop(name, None)
            return True


class World:
    def __init__(self) -> None:
        self.log, self.once = MemoryLog(), MemoryOnce()
        self.merchants = MemoryMerchants({"m1": dict(HOOK)})
        self.customers, self.webhooks, self.letters = MemoryCustomers(), MemoryWebhooks(), MemoryDeadLetters()
        self.outbox = MemoryOutbox(self.log)

    def notifier(self, at: datetime) -> Notifier:
        return Notifier(self.merchants, self.log, self.once, self.customers, self.webhooks, "us-east-1",
                        "http://x/track", clock=lambda: at, policy=POLICY, rand=lambda: 0.5)

    def sweep(self, at: datetime, **options: Any) -> dict[str, int]:
        sweeper = OutboxSweeper(self.outbox, self.merchants, self.webhooks, self.customers, self.letters,
                                policy=POLICY, clock=lambda: at, rand=lambda: 0.5, **options)
        return sweeper.run().as_dict()

    def entry(self, channel: str, shipment: str = "s1") -> dict[str, Any]:
        return next(e for e in self.log.entries if e["channel"] == channel and e["shipment_id"] == shipment)


def change(shipment: str = "s1", customer: dict[str, Any] | None = None, status: str = "DELIVERED") -> Any:
    new = {"merchant_id": "m1", "shipment_id": shipment, "status": status, "status_event_id": f"e-{shipment}",
           "status_changed_at": "2026-11-20T10:59:00.000Z", "version": 3, "customer": customer}
    return status_change({"status": "OUT_FOR_DELIVERY"}, new)


def counts(**given: int) -> dict[str, int]:
    return {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0, "taken": 0, "left": 0, "errors": 0, **given}


def test_deferred_message_goes_out_once_when_quiet_hours_end() -> None:
    world = World()
    world.merchants.merchants["m1"] = {"merchant_id": "m1"}  # no webhook: only the customer channel
    customer = {"contact_ref": "c1", "channels": ["sms"], "timezone": "Europe/Berlin",
                "quiet_hours": {"start": "21:00", "end": "08:00"}}
    world.notifier(NIGHT).handle(change(customer=customer))
    assert world.customers.sent == []
    assert world.sweep(NIGHT) == counts()  # not yet due
    assert world.sweep(MORNING) == counts(sent=1)
    assert world.sweep(MORNING) == counts()  # out of the outbox
    assert [m["status"] for m in world.customers.sent] == ["DELIVERED"]
    sent = world.entry("customer")
    assert sent["outcome"] == "sent" and sent["attempts"] == 1 and "deferred_bucket" not in sent
    assert sent["message_id"] == "msg-1" and "message" not in sent


def test_a_failed_webhook_is_sent_again_with_the_same_bytes_when_due() -> None:
    world = World()
    world.webhooks.failing = True
    world.notifier(NOON).handle(change())
    body = world.entry("webhook")["body"].encode()
    world.webhooks.failing = False
    assert world.sweep(NOON + timedelta(seconds=44)) == counts()  # due at +45 s
    assert world.sweep(NOON + timedelta(seconds=45)) == counts(sent=1)
    assert world.webhooks.delivered == [("http://hook", body)]  # same id, same bytes
    sent = world.entry("webhook")
    assert sent["outcome"] == "sent" and sent["attempts"] == 2 and sent["target"] == "http://hook"
    assert not {"error", "body", "deferred_bucket", "due_at", "claimed_by"} & set(sent)
    assert world.sweep(NOON + timedelta(hours=2)) == counts()


def test_while_the_receiver_is_down_one_attempt_per_sweep_and_the_waits_grow() -> None:
    world = World()
    world.webhooks.failing = True
    notifier = world.notifier(NOON)
    for shipment in ("s1", "s2", "s3"):
        notifier.handle(change(shipment))
    tried: list[str] = []
    failing = world.webhooks.deliver
    world.webhooks.deliver = lambda url, secret, body: tried.append(json.loads(body)["shipment_id"]) or failing(
        url, secret, body)
    at = NOON + timedelta(seconds=45)
    assert world.sweep(at) == counts(retrying=3)
    assert len(tried) == 1  # the first failed, the other two were not tried in that sweep
    waiting = [world.entry("webhook", s) for s in ("s1", "s2", "s3")]
    assert all(e["outcome"] == "retrying" and e["attempts"] == 2 for e in waiting)
    assert sum(e["error"].startswith("not tried: webhook of m1 failed in this sweep") for e in waiting) == 2
    assert {e["due_at"] for e in waiting} == {iso(at + timedelta(seconds=90))}  # 2nd failure: 60 s + 50%
    assert all(e["first_failed_at"] == iso(NOON) for e in waiting)


def test_after_the_window_the_delivery_is_failed_and_dead_lettered() -> None:
    world = World()
    world.webhooks.failing = True
    world.notifier(NOON).handle(change())
    body = world.entry("webhook")["body"]
    at, sweeps = NOON, 0
    while world.entry("webhook").get("deferred_bucket"):
        at = datetime.fromisoformat(world.entry("webhook")["due_at"])
        world.sweep(at)
        sweeps += 1
    failed = world.entry("webhook")
    assert at == NOON + timedelta(seconds=POLICY.window_s)  # the last attempt at the end of the window
    assert failed["outcome"] == "failed" and failed["attempts"] == sweeps + 1 and failed["failed_at"] == iso(at)
    assert "not delivered: " in failed["error"] and "HTTP 500 from http://hook" in failed["error"]
    assert "body" not in failed and "deferred_bucket" not in failed
    [letter] = world.letters.letters
    assert letter.value == body.encode() and letter.merchant_id == "m1" and letter.event_id == "e-s1"
    assert letter.reason == failed["error"] and letter.source.startswith("notification:m1#s1#")
    world.webhooks.failing = False
    assert world.sweep(at + timedelta(days=1)) == counts() and world.webhooks.delivered == []


def test_a_dead_letter_that_cannot_be_written_leaves_the_delivery_claimed_for_later() -> None:
    world = World()
    world.webhooks.failing = True
    world.notifier(NOON).handle(change())
    world.letters.broken = True
    end = NOON + timedelta(seconds=POLICY.window_s)
    world.outbox.log.entries[0]["due_at"] = iso(end)  # make the last attempt due
    assert world.sweep(end) == counts(errors=1)
    assert world.entry("webhook")["outcome"] == "sending"  # due again when the claim's lease ends
    world.letters.broken = False
    assert world.sweep(end + timedelta(seconds=300)) == counts(failed=1) and len(world.letters.letters) == 1


def test_concurrent_sweeps_send_each_delivery_once() -> None:
    world = World()
    world.webhooks.failing = True
    notifier = world.notifier(NOON)
    for n in range(40):
        notifier.handle(change(f"s{n}"))
    world.webhooks.failing = False
    at = NOON + timedelta(minutes=5)
    results: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda: results.append(world.sweep(at))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["sent"] for r in results) == 40 and len(world.webhooks.delivered) == 40
    assert len({body for _, body in world.webhooks.delivered}) == 40


def test_a_merchant_that_removed_its_webhook_is_skipped() -> None:
    world = World()
    world.webhooks.failing = True
    world.notifier(NOON).handle(change())
    world.merchants.merchants["m1"] = {"merchant_id": "m1"}
    assert world.sweep(NOON + timedelta(minutes=1)) == counts(skipped=1)
    skipped = world.entry("webhook")
    assert skipped["outcome"] == "skipped" and skipped["detail"] == "no webhook configured any more"


def test_a_sweep_short_of_time_leaves_the_rest_due() -> None:
    world = World()
    world.webhooks.failing = True
    world.notifier(NOON).handle(change())
    world.webhooks.failing = False
    sweeper = OutboxSweeper(world.outbox, world.merchants, world.webhooks, world.customers, world.letters,
                            policy=POLICY, clock=lambda: NOON + timedelta(minutes=1), reserve_s=10)
    assert sweeper.run(time_left_s=lambda: 9.0).as_dict() == counts(left=1)
    assert sweeper.run(time_left_s=lambda: 30.0).as_dict() == counts(sent=1)


def test_a_storage_error_on_one_entry_leaves_the_others_going() -> None:
    world = World()
    world.webhooks.failing = True
    notifier = world.notifier(NOON)
    for shipment in ("s1", "s2"):
        notifier.handle(change(shipment))
    world.webhooks.failing = False
    claim = world.outbox.claim

    def flaky(entry: dict[str, Any], lease_until_iso: str) -> str | None:
        if entry["shipment_id"] == "s1":
            raise RuntimeError("ProvisionedThroughputExceededException")
        return claim(entry, lease_until_iso)

    world.outbox.claim = flaky  # type: ignore[method-assign]
    assert world.sweep(NOON + timedelta(minutes=1)) == counts(sent=1, errors=1)
    assert world.entry("webhook", "s1")["outcome"] == "retrying"  # untouched: due again at the next sweep
