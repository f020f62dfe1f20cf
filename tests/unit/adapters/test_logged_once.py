"""LoggedOnce: the notification log item of (change, channel) is the notifier's once-guard."""

from __future__ import annotations

from typing import Any

from logistics.adapters.dynamodb_notifications import LoggedOnce
from logistics.domain.notifications import StatusChange
from logistics.domain.status import Status
from logistics.service.notify import Notifier


class FakeClient:
    def __init__(self, items: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.items = items
        self.calls: list[dict[str, Any]] = []

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        key = (kwargs["Key"]["shipment_key"]["S"], kwargs["Key"]["notification_id"]["S"])
        item = self.items.get(key)
        return {"Item": {k: {"S": v} for k, v in item.items()}} if item else {}


CHANGE = StatusChange(merchant_id="m#1", shipment_id="s-1", old_status=Status.IN_TRANSIT,
                      new_status=Status.DELIVERED, status_event_id="e-9",
                      changed_at="2026-11-20T10:00:00.000Z", state={})


def test_the_guard_key_is_the_log_items_key() -> None:
    key = Notifier.log_key(CHANGE, "webhook")
    assert LoggedOnce.split(key) == ("m#1#s-1", "2026-11-20T10:00:00.000Z#DELIVERED#webhook")


def test_a_sent_or_deferred_item_means_done_and_nothing_is_written() -> None:
    client = FakeClient({("m#1#s-1", "2026-11-20T10:00:00.000Z#DELIVERED#webhook"):
                         {"outcome": "sent", "target": "https://hook"}})
    ran: list[str] = []
    result = LoggedOnce(client, "t").run_once(Notifier.log_key(CHANGE, "webhook"),
                                              lambda: ran.append("x") or {"outcome": "sent"})
    assert result == {"outcome": "sent", "detail": "https://hook"} and ran == []
    assert client.calls[0]["ConsistentRead"] is True


def test_absent_or_skipped_runs_the_action() -> None:
    client = FakeClient({("m#1#s-1", "2026-11-20T10:00:00.000Z#DELIVERED#customer"): {"outcome": "skipped"}})
    once = LoggedOnce(client, "t")
    for channel in ("webhook", "customer"):
        assert once.run_once(Notifier.log_key(CHANGE, channel), lambda: {"outcome": "sent"}) == {"outcome": "sent"}


def test_what_the_outbox_holds_or_gave_up_is_not_acted_on_again() -> None:
    for outcome in ("retrying", "sending", "failed"):
        client = FakeClient({("m#1#s-1", "2026-11-20T10:00:00.000Z#DELIVERED#webhook"): {"outcome": outcome}})
        result = LoggedOnce(client, "t").run_once(Notifier.log_key(CHANGE, "webhook"), lambda: {"outcome": "sent"})
        assert result["outcome"] == outcome
