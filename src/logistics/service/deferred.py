"""The outbox sweep (scheduled): sends what waits in the notification log once it is due, that is customer
messages that quiet hours deferred and deliveries that failed and wait for their next attempt.

Each due entry is claimed first (a conditional write), so concurrent or repeated sweeps never send one
delivery twice while it succeeds; a sweep that dies after claiming leaves the entry to a later sweep once the
claim's lease is over (the receiver may then get it twice and de-duplicates on the notification ``id``).
A webhook is redelivered with the body stored at the first failure, byte for byte (same ``id``), signed
afresh. A delivery that fails again waits for its next attempt (``RetryPolicy``); after the last attempt of
the retry window it is marked ``failed`` with the reason, and a dead letter keeps what was not delivered.
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from logistics.domain.notifications import Outbox, RetryPolicy, iso
from logistics.domain.ports import CustomerChannel, DeadLetter, DeadLetterSink, MerchantDirectory, WebhookSender

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 1000


class NothingToSend(Exception):
    """The delivery has no receiver any more (the merchant removed its webhook)."""


@dataclass
class SweepResult:
    """What one sweep did with the due entries."""

    sent: int = 0  # delivered: deferred messages and redeliveries
    retrying: int = 0  # failed again: the next attempt is scheduled
    failed: int = 0  # the retry window is over: marked failed and dead-lettered
    skipped: int = 0  # nothing to send any more
    taken: int = 0  # another sweep claimed it first (or it changed since it was read)
    left: int = 0  # due, left to the next sweep: this one ran out of time
    errors: int = 0  # a storage error after the claim: due again when the claim's lease ends

    def add(self, other: SweepResult) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _now() -> datetime:
    return datetime.now(UTC)


class OutboxSweeper:
    """Sends the outbox's due entries; see the module docstring. ``webhooks`` should make one request per
    call: the time between sweeps is the backoff, and a sweep must not spend it waiting on one receiver."""

    def __init__(
        self,
        outbox: Outbox,
        merchants: MerchantDirectory,
        webhooks: WebhookSender,
        customers: CustomerChannel,
        dead_letters: DeadLetterSink,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = _now,
        rand: Callable[[], float] = random.random,
        lease_s: float = 300.0,
        max_items: int = 2000,
        reserve_s: float = 10.0,
        concurrency: int = 8,
    ) -> None:
        self.outbox = outbox
        self.merchants = merchants
        self.webhooks = webhooks
        self.customers = customers
        self.dead_letters = dead_letters
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.rand = rand
        self.lease_s = lease_s  # longer than one delivery takes, or a live claim could be taken over
        self.max_items = max_items
        self.reserve_s = reserve_s  # no new claim with less time left than this
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="outbox")

    def run(self, time_left_s: Callable[[], float] | None = None) -> SweepResult:
        """Send every due entry (up to ``max_items``) while ``time_left_s()`` stays above ``reserve_s``.

        Entries are grouped by (channel, merchant) and each group is sent in ``due_at`` order by one worker:
        once a receiver failed in this sweep, the group's other entries are not tried and wait for their next
        attempt, so a receiver that is down costs one attempt per sweep, not one per waiting delivery.
        """
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for entry in self.outbox.due(iso(self.clock()), self.max_items):
            groups[(entry.get("channel", ""), entry.get("merchant_id", ""))].append(entry)

        def out_of_time() -> bool:
            return time_left_s is not None and time_left_s() < self.reserve_s

        total = SweepResult()
        for result in self._pool.map(lambda entries: self._group(entries, out_of_time), groups.values()):
            total.add(result)
        return total

    def _group(self, entries: list[dict[str, Any]], out_of_time: Callable[[], bool]) -> SweepResult:
        result = SweepResult()
        down: str | None = None  # why this group's receiver is not tried again in this sweep
        for entry in sorted(entries, key=lambda e: str(e.get("due_at", ""))):
            if out_of_time():
                result.left += 1
                continue
            try:
                token = self.outbox.claim(entry, iso(self.clock() + timedelta(seconds=self.lease_s)))
                if token is None:
                    result.taken += 1
                    continue
                down = self._one(entry, token, down, result)
            except Exception:  # unclaimed, or the claim's lease brings it back; the other entries go on
                log.exception("outbox entry %s#%s not settled", entry.get("shipment_key"),
                              entry.get("notification_id"))
                result.errors += 1
        return result

    def _one(self, entry: dict[str, Any], token: str, down: str | None, result: SweepResult) -> str | None:
        """Send one claimed entry and settle it; returns the group's ``down`` reason as it now stands."""
        now = self.clock()
        attempts = int(entry.get("attempts") or 0) + 1
        if down is not None:
            error = f"not tried: {down}"
        else:
            try:
                sent = self._send(entry)
            except NothingToSend as exc:
                self.outbox.settle(entry, token, {"outcome": "skipped", "detail": str(exc), "due_at": None}, True)
                result.skipped += 1
                return down
            except Exception as exc:
                error = str(exc)[:MAX_ERROR_CHARS]
                down = f"{entry.get('channel')} of {entry.get('merchant_id')} failed in this sweep: {error[:200]}"
            else:
                changes = {"outcome": "sent", "sent_at": iso(now), "attempts": attempts, "error": None,
                           "due_at": None, **sent}
                if not self.outbox.settle(entry, token, changes, True):
                    log.warning("claim of %s lost while sending: it may be sent twice", entry.get("notification_id"))
                result.sent += 1
                return down
        first = _parse(entry.get("first_failed_at")) or now
        retry_at = self.policy.next_attempt(now, attempts, first, self.rand())
        if retry_at is None:
            self._give_up(entry, token, attempts, error, first, now)
            result.failed += 1
        else:
            self.outbox.settle(entry, token, {"outcome": "retrying", "attempts": attempts, "due_at": iso(retry_at),
                                              "first_failed_at": iso(first), "error": error}, False)
            result.retrying += 1
        return down

    def _send(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Deliver an entry; returns what to record about it."""
        if entry.get("channel") == "webhook":
            # The merchant's current settings: a URL fixed or a secret rotated during an outage is what counts.
            merchant = self.merchants.get(str(entry.get("merchant_id"))) or {}
            url, secret = merchant.get("webhook_url"), merchant.get("webhook_secret")
            if not url or not secret:
                raise NothingToSend("no webhook configured any more")
            answer = self.webhooks.deliver(url, secret, str(entry["body"]).encode())
            return {"target": url, **answer}
        return {"message_id": self.customers.send(json.loads(entry["message"]))}

    def _give_up(self, entry: dict[str, Any], token: str, attempts: int, error: str, first: datetime,
                 now: datetime) -> None:
        """Dead-letter the delivery, then mark it failed (if the dead letter cannot be written, the entry is
        left claimed and comes back when the lease ends)."""
        channel = entry.get("channel")
        reason = (f"{channel} not delivered: {attempts} attempts from {iso(first)} to {iso(now)} (retry window "
                  f"{self.policy.window_s:g} s); last error: {error}")[:MAX_ERROR_CHARS]
        what = entry.get("body") if channel == "webhook" else entry.get("message")
        letter = DeadLetter(
            source=f"notification:{entry['shipment_key']}#{entry['notification_id']}",
            reason=reason,
            value=str(what).encode() if what is not None else None,
            key=None,
            timestamp_ms=int(now.timestamp() * 1000),
            headers={},
            merchant_id=entry.get("merchant_id"),
            event_id=str(entry.get("change_key", "")).rpartition("#")[2] or None,
        )
        errors = self.dead_letters.put([letter])
        if errors:
            raise next(iter(errors.values()))
        self.outbox.settle(entry, token, {"outcome": "failed", "attempts": attempts, "error": reason,
                                          "failed_at": iso(now), "due_at": None}, True)


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
