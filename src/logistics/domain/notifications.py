"""Who hears about a status change, on which channel, and when (quiet hours defer, never drop; a failed
delivery is tried again with backoff for a bounded window)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logistics.domain.status import Status

# Warehouse-internal steps are merchant business, not customer news.
DEFAULT_CUSTOMER_STATUSES = frozenset(Status) - {Status.CREATED, Status.PROCESSING}


@dataclass(frozen=True)
class StatusChange:
    """A real change of a shipment's status, as one notification-worthy fact."""

    merchant_id: str
    shipment_id: str
    old_status: Status | None
    new_status: Status
    status_event_id: str
    changed_at: str  # UTC
    state: dict[str, Any]  # the new state, for message bodies

    @property
    def key(self) -> str:
        """Identity of the change: the same change delivered twice has the same key."""
        return f"{self.merchant_id}#{self.shipment_id}#{self.new_status}#{self.status_event_id}"


def status_change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> StatusChange | None:
    """The change between two shipment state snapshots, or None when the status did not change."""
    if not new or "status" not in new:
        return None
    old_status = Status(old["status"]) if old and old.get("status") else None
    new_status = Status(new["status"])
    if old_status == new_status:
        return None
    return StatusChange(
        merchant_id=new["merchant_id"],
        shipment_id=new["shipment_id"],
        old_status=old_status,
        new_status=new_status,
        status_event_id=str(new.get("status_event_id", "")),
        changed_at=str(new.get("status_changed_at", "")),
        state=new,
    )


def customer_channels(customer: dict[str, Any] | None, status: Status, wanted: frozenset[Status]) -> list[str]:
    """Channels the recipient opted in to for this status; empty means do not contact them."""
    if not customer or status not in wanted:
        return []
    return list(customer.get("channels") or [])


def _zone(customer: dict[str, Any]) -> ZoneInfo:
    try:
        return ZoneInfo(customer.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def deliver_at(now: datetime, customer: dict[str, Any] | None) -> datetime:
    """When a customer message may go out: ``now``, or the end of the recipient's quiet hours.

    Quiet hours are local wall-clock times and may wrap midnight (21:00-08:00).
    """
    quiet = (customer or {}).get("quiet_hours")
    if not quiet:
        return now
    zone = _zone(customer or {})
    local = now.astimezone(zone)
    start, end = time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"])
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return now
    wraps = start > end
    quiet_now = (clock >= start or clock < end) if wraps else (start <= clock < end)
    if not quiet_now:
        return now
    end_day = local.date() + timedelta(days=1) if wraps and clock >= start else local.date()
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(now.tzinfo)


def iso(moment: datetime) -> str:
    """The one timestamp format of the notification log: UTC, milliseconds (``due_at`` compares as a string)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class RetryPolicy:
    """When a delivery that failed is tried again: exponential backoff with jitter, capped, for a bounded window.

    The n-th failed attempt waits between half and all of ``min(cap_s, base_s * 2 ** (n - 1))`` ("equal
    jitter": the schedule keeps growing, yet retries of many deliveries that failed together spread out). No
    attempt is scheduled after ``window_s`` from the first failure: the last one happens at the window's end.
    """

    base_s: float = 60.0
    cap_s: float = 3600.0
    window_s: float = 24 * 3600.0

    def delay_s(self, attempts: int, rand: float) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (1-based); ``rand`` is uniform in [0, 1)."""
        step = min(self.cap_s, self.base_s * 2.0 ** min(max(attempts, 1) - 1, 64))
        return step / 2 + step / 2 * rand

    def next_attempt(self, now: datetime, attempts: int, first_failed_at: datetime, rand: float) -> datetime | None:
        """When to try again after the ``attempts``-th failure, or None: the window is over, give up."""
        deadline = first_failed_at + timedelta(seconds=self.window_s)
        if now >= deadline:
            return None
        return min(now + timedelta(seconds=self.delay_s(attempts, rand)), deadline)


class Outbox(Protocol):
    """Deliveries waiting for their time (quiet hours, or the next attempt after a failure): a port.

    An entry is a notification log item (``shipment_key``, ``notification_id``, ``channel``, ``outcome``,
    ``due_at``, ``attempts``, and what to send: ``body`` or ``message``). A sweep claims an entry before
    sending it, so concurrent or repeated sweeps cannot send one delivery twice while it succeeds.
    """

    def due(self, now_iso: str, limit: int) -> Iterable[dict[str, Any]]:
        """Up to ``limit`` waiting entries whose ``due_at`` is at or before ``now_iso``, earliest first."""
        ...

    def claim(self, entry: dict[str, Any], lease_until_iso: str) -> str | None:
        """Take ``entry`` as it was read (same ``outcome`` and ``due_at``): it becomes ``sending`` and is due
        again only at ``lease_until_iso`` (if the claimer dies). Returns the claim's token, or None when
        another sweep took it or it changed since it was read."""
        ...

    def settle(self, entry: dict[str, Any], token: str, changes: dict[str, Any], done: bool) -> bool:
        """Write the outcome of a claimed entry (``changes``); ``done`` takes it out of the outbox. False when
        the claim was lost meanwhile (its lease ran out and another sweep took it)."""
        ...
