"""Quiet hours defer customer messages; the deferred sender publishes each one once when it is due."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from logistics.domain.notifications import status_change
from logistics.service.deferred import send_due
from logistics.service.notify import Notifier
from tests.fakes.memory import MemoryCustomers, MemoryLog, MemoryMerchants, MemoryOnce, MemoryWebhooks

NIGHT = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)  # 23:30 in Berlin: quiet
MORNING = datetime(2026, 11, 21, 7, 5, tzinfo=UTC)  # 08:05 in Berlin: quiet hours are over


class LogQueue:
    """The deferred queue over the in-memory notification log (the DynamoDB one Queries by_due)."""

    def __init__(self, log: MemoryLog) -> None:
        self.log = log

    def due(self, now_iso: str) -> list[dict[str, Any]]:
        return [e for e in self.log.entries if e.get("deferred_bucket") == "deferred" and e["due_at"] <= now_iso]

    def mark_sent(self, entry: dict[str, Any], message_id: str, sent_at: str) -> None:
        entry.pop("deferred_bucket")
        entry.update(outcome="sent", message_id=message_id, sent_at=sent_at)


def test_deferred_message_goes_out_once_when_quiet_hours_end() -> None:
    log, once, customers = MemoryLog(), MemoryOnce(), MemoryCustomers()
    notifier = Notifier(MemoryMerchants(), log, once, customers, MemoryWebhooks(), "us-east-1",
                        "http://x/track", clock=lambda: NIGHT)
    customer = {"contact_ref": "c1", "channels": ["sms"], "timezone": "Europe/Berlin",
                "quiet_hours": {"start": "21:00", "end": "08:00"}}
    new = {"merchant_id": "m1", "shipment_id": "s1", "status": "DELIVERED", "status_event_id": "e9",
           "status_changed_at": "2026-11-20T22:29:00.000Z", "customer": customer}
    notifier.handle(status_change({"status": "OUT_FOR_DELIVERY"}, new))
    queue = LogQueue(log)
    assert customers.sent == []
    assert send_due(queue, once, customers, clock=lambda: NIGHT) == 0  # not yet due
    assert send_due(queue, once, customers, clock=lambda: MORNING) == 1
    assert send_due(queue, once, customers, clock=lambda: MORNING) == 0  # taken out of the queue
    assert [m["status"] for m in customers.sent] == ["DELIVERED"]
    assert [e["outcome"] for e in log.entries if e["channel"] == "customer"] == ["sent"]
