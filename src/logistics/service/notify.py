"""Turn real status changes into notifications: signed merchant webhooks and customer messages.

Each (change, channel) is sent once: a retried or twice-delivered stream batch finds the completed
record of the guard (on DynamoDB: the (change, channel) log item itself, ``LoggedOnce``) and sends
nothing again; a failed channel raises so the stream retries it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from logistics.domain.notifications import (
    DEFAULT_CUSTOMER_STATUSES,
    StatusChange,
    customer_channels,
    deliver_at,
    status_change,
)
from logistics.domain.ports import CustomerChannel, MerchantDirectory, NotificationLog, OnceGuard, WebhookSender
from logistics.domain.status import Status


class DeliveryFailed(Exception):
    """A channel could not deliver; the stream record is reported as failed and retried."""


@dataclass(frozen=True)
class StateImages:
    """One write to the shipment state as its change stream delivered it, transport-neutral.

    ``id`` is whatever the transport needs to name the record in a failure report; ``old`` and
    ``new`` are the state before and after as plain dicts (None when there is none).
    """

    id: Hashable
    old: dict[str, Any] | None
    new: dict[str, Any] | None


@dataclass(frozen=True)
class Outcome:
    channel: str
    outcome: str  # sent | deferred | skipped
    detail: str = ""


def _now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Notification rules applied to one status change at a time."""

    def __init__(
        self,
        merchants: MerchantDirectory,
        log: NotificationLog,
        once: OnceGuard,
        customers: CustomerChannel,
        webhooks: WebhookSender,
        region: str,
        tracking_base_url: str,
        clock: Callable[[], datetime] = _now,
        concurrency: int = 8,
    ) -> None:
        self.merchants = merchants
        self.log = log
        self.once = once
        self.customers = customers
        self.webhooks = webhooks
        self.region = region
        self.tracking_base_url = tracking_base_url.rstrip("/")
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="notify")

    def should_handle(self, new_image: dict[str, Any]) -> bool:
        """Only the region that wrote a change notifies; Global Table replicas stream it too."""
        written = new_image.get("written_region")
        return written is None or written == self.region

    def changes(self, images: Iterable[StateImages]) -> list[tuple[Hashable, StatusChange]]:
        """(id, status change) of every write that really changed a status and was made in this region."""
        found: list[tuple[Hashable, StatusChange]] = []
        for image in images:
            change = status_change(image.old, image.new)
            if change is not None and self.should_handle(change.state):
                found.append((image.id, change))
        return found

    def handle_batch(self, items: Sequence[tuple[Hashable, StatusChange]]) -> set[Hashable]:
        """Notify a batch of changes; returns the ids of those that failed (and must be retried).

        Different shipments are independent, so their changes go out concurrently; one shipment's
        changes stay in order, and after a failure its later changes wait for the retry too.
        """
        by_shipment: dict[tuple[str, str], list[tuple[Hashable, StatusChange]]] = defaultdict(list)
        for item_id, change in items:
            by_shipment[(change.merchant_id, change.shipment_id)].append((item_id, change))

        def run(changes: list[tuple[Hashable, StatusChange]]) -> list[Hashable]:
            for position, (_, change) in enumerate(changes):
                try:
                    self.handle(change)
                except DeliveryFailed:
                    return [item_id for item_id, _ in changes[position:]]
            return []

        groups = list(by_shipment.values())
        if len(groups) <= 1:
            return {item_id for group in groups for item_id in run(group)}
        return {item_id for failed in self._pool.map(run, groups) for item_id in failed}

    def handle(self, change: StatusChange) -> list[Outcome]:
        """Notify every channel for a change; raises DeliveryFailed if any channel failed."""
        merchant = self.merchants.get(change.merchant_id) or {}
        outcomes: list[Outcome] = []
        failures: list[str] = []
        for channel, action in (("webhook", self._webhook), ("customer", self._customer)):
            skipped = self._skip_reason(channel, change, merchant)
            if skipped:  # nothing to send, so nothing to guard: the log entry overwrites itself
                self.log.record(self._entry(change, channel, "skipped", detail=skipped))
                outcomes.append(Outcome(channel, "skipped", skipped))
                continue
            try:
                result = self.once.run_once(self.log_key(change, channel), lambda a=action: a(change, merchant))
                outcomes.append(Outcome(channel, result["outcome"], result.get("detail", "")))
            except DeliveryFailed as exc:
                failures.append(f"{channel}: {exc}")
        if failures:
            raise DeliveryFailed("; ".join(failures))
        return outcomes

    # -- channels --------------------------------------------------------------------------------
    def _wanted(self, merchant: dict[str, Any]) -> frozenset[Status]:
        return frozenset(Status(s) for s in merchant.get("customer_statuses") or DEFAULT_CUSTOMER_STATUSES)

    def _skip_reason(self, channel: str, change: StatusChange, merchant: dict[str, Any]) -> str | None:
        if channel == "webhook":
            return None if merchant.get("webhook_url") and merchant.get("webhook_secret") else "no webhook configured"
        wanted = self._wanted(merchant)
        if change.new_status not in wanted:
            return "status not customer-facing"
        if not customer_channels(change.state.get("customer"), change.new_status, wanted):
            return "recipient not opted in"
        return None

    @staticmethod
    def log_key(change: StatusChange, channel: str) -> str:
        """``<shipment_key>#<notification_id>``: the log item of (change, channel), which is also its guard key."""
        return f"{change.merchant_id}#{change.shipment_id}#{change.changed_at}#{change.new_status}#{channel}"

    def _entry(self, change: StatusChange, channel: str, outcome: str, **extra: Any) -> dict[str, Any]:
        return {
            "shipment_key": f"{change.merchant_id}#{change.shipment_id}",
            "notification_id": f"{change.changed_at}#{change.new_status}#{channel}",
            "merchant_id": change.merchant_id,
            "shipment_id": change.shipment_id,
            "channel": channel,
            "status": change.new_status.value,
            "old_status": change.old_status.value if change.old_status else None,
            "change_key": change.key,
            "outcome": outcome,
            "created_at": self.clock().isoformat(timespec="milliseconds"),
            **extra,
        }

    def tracking_url(self, change: StatusChange) -> str | None:
        token = change.state.get("tracking_token")
        return f"{self.tracking_base_url}/{token}" if token else None

    def webhook_body(self, change: StatusChange) -> bytes:
        state = change.state
        payload = {
            "type": "shipment.status_changed",
            "id": change.key,
            "merchant_id": change.merchant_id,
            "shipment_id": change.shipment_id,
            "order_ref": state.get("order_ref"),
            "tracking_number": state.get("tracking_number"),
            "carrier": state.get("carrier"),
            "previous_status": change.old_status.value if change.old_status else None,
            "status": change.new_status.value,
            "sub_status": state.get("sub_status"),
            "changed_at": change.changed_at,
            "location": state.get("location"),
            "eta": state.get("eta"),
            "exception": state.get("exception"),
            "tracking_url": self.tracking_url(change),
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()

    def _webhook(self, change: StatusChange, merchant: dict[str, Any]) -> dict[str, Any]:
        url, secret = merchant["webhook_url"], merchant["webhook_secret"]
        try:
            result = self.webhooks.deliver(url, secret, self.webhook_body(change))
        except Exception as exc:
            self.log.record(self._entry(change, "webhook", "failed", target=url, error=str(exc)))
            raise DeliveryFailed(str(exc)) from exc
        self.log.record(self._entry(change, "webhook", "sent", target=url, **result))
        return {"outcome": "sent", "detail": url}

    def customer_message(self, change: StatusChange) -> dict[str, Any]:
        state = change.state
        return {
            "merchant_id": change.merchant_id,
            "shipment_id": change.shipment_id,
            "status": change.new_status.value,
            "sub_status": state.get("sub_status"),
            "contact_ref": (state.get("customer") or {}).get("contact_ref"),
            "channels": (state.get("customer") or {}).get("channels") or [],
            "locale": (state.get("customer") or {}).get("locale"),
            "eta": state.get("eta"),
            "tracking_url": self.tracking_url(change),
            "change_key": change.key,
        }

    def _customer(self, change: StatusChange, merchant: dict[str, Any]) -> dict[str, Any]:
        customer = change.state.get("customer")
        channels = customer_channels(customer, change.new_status, self._wanted(merchant))
        now = self.clock()
        due = deliver_at(now, customer)
        if due > now:
            # Deferred, not dropped: the deferred sender publishes it when the quiet hours end.
            message = self.customer_message(change)
            self.log.record(
                self._entry(change, "customer", "deferred", due_at=due.isoformat(timespec="seconds"),
                            deferred_bucket="deferred", message=json.dumps(message), channels=channels)
            )
            return {"outcome": "deferred", "detail": due.isoformat()}
        return self.send_customer(change, channels)

    def send_customer(self, change: StatusChange, channels: list[str]) -> dict[str, Any]:
        try:
            message_id = self.customers.send(self.customer_message(change))
        except Exception as exc:
            self.log.record(self._entry(change, "customer", "failed", channels=channels, error=str(exc)))
            raise DeliveryFailed(str(exc)) from exc
        self.log.record(self._entry(change, "customer", "sent", channels=channels, message_id=message_id))
        return {"outcome": "sent", "detail": message_id}
