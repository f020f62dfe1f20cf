"""Who hears about a status change, on which channel, and when (quiet hours defer, never drop)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
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
