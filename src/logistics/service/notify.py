"""Turn real status changes into notifications: signed merchant webhooks and customer messages.

Each (change, channel) is acted on once: a retried or twice-delivered stream batch finds the record of the
guard (on DynamoDB: the (change, channel) log item itself, ``LoggedOnce``) and does nothing again. A channel
that cannot deliver (after the sender's own quick retries) does not fail the stream record: the delivery
goes to the outbox (its log item, ``retrying``, with the next attempt's time and what to send), and the
scheduled sweep (``service.deferred``) tries it again with backoff. Only a failure to record the outcome (a
storage error) fails the record, so the stream retries it.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from logistics.domain.notifications import (
    DEFAULT_CUSTOMER_STATUSES,
    RetryPolicy,
    StatusChange,
    customer_channels,
    deliver_at,
    iso,
    status_change,
)
from logistics.domain.ports import CustomerChannel, MerchantDirectory, NotificationLog, OnceGuard, WebhookSender
from logistics.domain.status import Status

log = logging.getLogger(__name__)

# The sparse index key of the outbox: present while a delivery waits for ``due_at`` (quiet hours or a retry).
OUTBOX_BUCKET = "deferred"
# Builds a notice's log item from its outcome and extra fields: ``entry("sent", target=url)``.
EntryBuilder = Callable[..., dict[str, Any]]
MAX_ERROR_CHARS = 1000


class DeliveryFailed(Exception):
    """A change's outcome could not be recorded (a storage error); its stream record is reported as failed."""


@dataclass
class BatchResult:
    """What a batch did: the ids of the records to retry, and how many (change, channel) ended how."""

    failed: set[Hashable] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)  # sent | deferred | retrying | skipped | ...


class TargetBreaker:
    """Remembers receivers that just failed, so the next deliveries to them go straight to the outbox for a
    while instead of each spending the sender's retries (and, for a receiver that does not answer, its
    timeouts) inside the invocation, which would hold up every other merchant's notifications."""

    def __init__(self, hold_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.hold_s = hold_s
        self.clock = clock
        self._failed: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def open_reason(self, target: str) -> str | None:
        """Why ``target`` should not be tried now, or None."""
        with self._lock:
            failed = self._failed.get(target)
            if failed is None:
                return None
            age = self.clock() - failed[0]
            if age >= self.hold_s:
                del self._failed[target]
                return None
            return f"{target} failed {age:.1f} s ago ({failed[1]})"

    def failed(self, target: str, error: str) -> None:
        with self._lock:
            self._failed[target] = (self.clock(), error[:200])

    def succeeded(self, target: str) -> None:
        with self._lock:
            self._failed.pop(target, None)


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
    outcome: str  # sent | deferred | retrying | skipped (or what an earlier run recorded: sending, failed)
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
        policy: RetryPolicy | None = None,
        rand: Callable[[], float] = random.random,
        breaker: TargetBreaker | None = None,
    ) -> None:
        self.merchants = merchants
        self.log = log
        self.once = once
        self.customers = customers
        self.webhooks = webhooks
        self.region = region
        self.tracking_base_url = tracking_base_url.rstrip("/")
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.rand = rand
        self.breaker = breaker or TargetBreaker(hold_s=10.0)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="notify")
        # Further notices a status change can cause (delivery-estimate revisions), run after its own ones,
        # in the shipment's order; a follower raises DeliveryFailed when its outcome could not be recorded.
        self.followers: list[Callable[[StatusChange], list[Outcome]]] = []

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

    def handle_batch(self, items: Sequence[tuple[Hashable, StatusChange]]) -> BatchResult:
        """Notify a batch of changes; returns the ids of those whose outcome could not be recorded (to be
        retried) and the count of each outcome.

        Different shipments are independent, so their changes go out concurrently; one shipment's
        changes are handled in order, and after a storage failure its later changes wait for the retry too.
        (Deliveries that go to the outbox are sent later, out of order: each webhook carries the time its
        status began, ``changed_at``, and the shipment's ``sequence``, for receivers to order them.)
        """
        by_shipment: dict[tuple[str, str], list[tuple[Hashable, StatusChange]]] = defaultdict(list)
        for item_id, change in items:
            by_shipment[(change.merchant_id, change.shipment_id)].append((item_id, change))

        def run(changes: list[tuple[Hashable, StatusChange]]) -> tuple[list[Hashable], Counter[str]]:
            counts: Counter[str] = Counter()
            for position, (_, change) in enumerate(changes):
                try:
                    counts.update(o.outcome for o in self.handle(change))
                    for follower in self.followers:
                        counts.update(o.outcome for o in follower(change))
                except DeliveryFailed as exc:
                    log.warning("notification of %s not recorded, its record is retried: %s", change.key, exc)
                    return [item_id for item_id, _ in changes[position:]], counts
            return [], counts

        groups = list(by_shipment.values())
        results = [run(g) for g in groups] if len(groups) <= 1 else list(self._pool.map(run, groups))
        outcome = BatchResult()
        for failed, counts in results:
            outcome.failed.update(failed)
            outcome.outcomes.update(counts)
        return outcome

    def handle(self, change: StatusChange) -> list[Outcome]:
        """Notify every channel for a change; raises DeliveryFailed if the outcome of a channel could not be
        recorded (the other channel is still acted on)."""
        merchant = self.merchants.get(change.merchant_id) or {}
        outcomes: list[Outcome] = []
        failures: list[str] = []
        for channel, action in (("webhook", self._webhook), ("customer", self._customer)):
            try:
                skipped = self._skip_reason(channel, change, merchant)
                if skipped:  # nothing to send, so nothing to guard: the log entry overwrites itself
                    self.log.record(self._entry(change, channel, "skipped", detail=skipped))
                    outcomes.append(Outcome(channel, "skipped", skipped))
                    continue
                result = self.once.run_once(self.log_key(change, channel), lambda a=action: a(change, merchant))
                outcomes.append(Outcome(channel, result["outcome"], result.get("detail", "")))
            except Exception as exc:  # the guard's read or the log write failed: retrying the record can help
                failures.append(f"{channel}: {type(exc).__name__}: {exc}")
        if failures:
            raise DeliveryFailed("; ".join(failures))
        return outcomes

    # -- channels --------------------------------------------------------------------------------
    def wanted(self, merchant: dict[str, Any]) -> frozenset[Status]:
        """The statuses the merchant tells customers about (its setting, or the default)."""
        return frozenset(Status(s) for s in merchant.get("customer_statuses") or DEFAULT_CUSTOMER_STATUSES)

    def _skip_reason(self, channel: str, change: StatusChange, merchant: dict[str, Any]) -> str | None:
        if channel == "webhook":
            return None if merchant.get("webhook_url") and merchant.get("webhook_secret") else "no webhook configured"
        wanted = self.wanted(merchant)
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
        """The webhook's JSON body. ``id`` names the change (receivers de-duplicate on it); ``changed_at`` is
        when the status began and ``sequence`` the shipment state's version, which grows with every stored
        change of the shipment: a receiver that gets two changes out of order keeps the higher sequence."""
        state = change.state
        payload = {
            "type": "shipment.status_changed",
            "id": change.key,
            "sequence": state.get("version"),
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
        return self.send_webhook(partial(self._entry, change, "webhook"), merchant, self.webhook_body(change))

    def send_webhook(self, entry: EntryBuilder, merchant: dict[str, Any], body: bytes) -> dict[str, Any]:
        """Deliver a signed webhook now, or put it in the outbox; ``entry(outcome, **fields)`` builds its log item
        (any kind of notice: a status change, an estimate revision)."""
        url, secret = merchant["webhook_url"], merchant["webhook_secret"]
        down = self.breaker.open_reason(url)
        if down:
            return self._retry_later(entry, f"not tried: {down}", target=url, body=body.decode())
        try:
            result = self.webhooks.deliver(url, secret, body)
        except Exception as exc:
            self.breaker.failed(url, str(exc))
            return self._retry_later(entry, str(exc), target=url, body=body.decode())
        self.breaker.succeeded(url)
        self.log.record(entry("sent", target=url, attempts=1, **result))
        return {"outcome": "sent", "detail": url}

    def _retry_later(self, entry: EntryBuilder, error: str, **what: Any) -> dict[str, Any]:
        """Put a delivery that failed in the outbox: its log item waits (``retrying``) for the next attempt
        with what to send (the exact webhook body, or the customer message), for the sweep to try again."""
        now = self.clock()
        due = self.policy.next_attempt(now, 1, now, self.rand()) or now
        self.log.record(entry("retrying", attempts=1, first_failed_at=iso(now), due_at=iso(due),
                              deferred_bucket=OUTBOX_BUCKET, error=error[:MAX_ERROR_CHARS], **what))
        return {"outcome": "retrying", "detail": iso(due)}

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
        channels = customer_channels(customer, change.new_status, self.wanted(merchant))
        return self.send_customer_message(partial(self._entry, change, "customer"), customer, channels,
                                          self.customer_message(change))

    def send_customer_message(self, entry: EntryBuilder, customer: dict[str, Any] | None, channels: list[str],
                              message: dict[str, Any]) -> dict[str, Any]:
        """Publish a customer message now, or, in the recipient's quiet hours, leave it in the outbox for the
        sweep (deferred, not dropped); a failed publish goes to the outbox too."""
        now = self.clock()
        due = deliver_at(now, customer)
        if due > now:
            self.log.record(entry("deferred", due_at=iso(due), deferred_bucket=OUTBOX_BUCKET,
                                  message=json.dumps(message), channels=channels))
            return {"outcome": "deferred", "detail": iso(due)}
        try:
            message_id = self.customers.send(message)
        except Exception as exc:
            return self._retry_later(entry, str(exc), channels=channels, message=json.dumps(message))
        self.log.record(entry("sent", channels=channels, message_id=message_id, attempts=1))
        return {"outcome": "sent", "detail": message_id}
