"""Proactive delivery-estimate notices, told through the notifier's machinery (``service.notify``).

When the notify function handles a status change, the shipment's prediction is made again from its lane's
statistics (LanesTable, read through a short cache: lanes change once per tumbling window). If it moved by a
day or more since the last estimate told, or just started trending late, the revision is told once: a signed
``delivery_estimate_revised`` webhook and a customer message (opt-in and quiet hours honoured), each guarded by
its log item like any notification, failures waiting in the outbox. Then the revision is recorded as told
(``P#<shipment_id>``), conditionally on its number growing.

Order matters for "once per revision": the channels are guarded first and the revision recorded last, so a
stream retry after a storage failure finds the same revision number, skips the channels already done and
finishes the others; a replay after the record sees nothing new to tell.

The first prediction made for a shipment is kept as its original (``P#``'s ``original``). It costs a write of
its own only when that first prediction is not told: then :meth:`ToldPredictions.record_original` writes it
once, at the first status change (or scheduled check) that could predict the shipment, which the P# read
that every check makes anyway already showed to have no original. A first prediction that is told gets its
original set in the same write that records the revision.

The same checks run on a schedule (``service.estimate_check``) for shipments that stall: no status change,
yet the prediction moves as time passes (:meth:`EstimateNotices.check`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC
from functools import partial
from typing import Any, Protocol

from logistics.domain.estimate_notices import (
    EVENT_TYPE,
    EstimateNotice,
    customer_text,
    next_notice,
    standing,
    window,
)
from logistics.domain.lanes import LaneStats, lane_of, rollups
from logistics.domain.notifications import StatusChange, customer_channels
from logistics.domain.prediction import predict
from logistics.domain.shipment import ShipmentState
from logistics.service.notify import DeliveryFailed, Notifier, Outcome

log = logging.getLogger(__name__)


class LaneReader(Protocol):
    def get(self, merchant_id: str, names: Iterable[str]) -> dict[str, LaneStats]:
        """The named aggregates of a merchant that exist."""
        ...


class ToldPredictions(Protocol):
    """The last estimate told per shipment: a port (``adapters.dynamodb_predictions``)."""

    def get(self, merchant_id: str, shipment_id: str) -> dict[str, Any] | None:
        """``{"original", "revision", "prediction"}`` (those set) of the shipment's estimates, or None."""
        ...

    def record_original(self, merchant_id: str, shipment_id: str, prediction: dict[str, Any]) -> None:
        """Keep ``prediction`` as the shipment's first one unless one is kept already."""
        ...

    def save(self, merchant_id: str, shipment_id: str, revision: int, prediction: dict[str, Any]) -> bool:
        """Record ``revision`` as told unless this or a later one already is (then False); the first
        revision told also becomes the original when none is kept."""
        ...


class CachedLanes:
    """Lane statistics kept for ``ttl_s``: many changes of a lane's shipments share one read."""

    def __init__(self, lanes: LaneReader, ttl_s: float = 60.0, max_entries: int = 2048,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.lanes = lanes
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, LaneStats]]] = {}
        self._lock = threading.Lock()

    def get(self, merchant_id: str, names: Iterable[str]) -> dict[str, LaneStats]:
        key = (merchant_id, tuple(names))
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        found = self.lanes.get(merchant_id, key[1])
        with self._lock:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()  # crude but bounded: a warm container refills it within a window
            self._cache[key] = (now, found)
        return found


class EstimateNotices:
    """A follower of the notifier (``Notifier.followers``): tells each revision of a delivery estimate once."""

    def __init__(self, notifier: Notifier, lanes: LaneReader, told: ToldPredictions,
                 decode: Callable[[dict[str, Any]], ShipmentState]) -> None:
        self.notifier = notifier
        self.lanes = lanes
        self.told = told
        self.decode = decode  # a stream image (the stored item's layout) -> the domain state

    def notice(self, change: StatusChange) -> EstimateNotice | None:
        """The revision this change makes worth telling, or None; keeps a first prediction not worth telling
        as the shipment's original (a told one is kept by the write that records its revision)."""
        state = self.decode(dict(change.state))
        now = self.notifier.clock().astimezone(UTC)
        current = predict(state, self.lanes.get(change.merchant_id, rollups(lane_of(state))), now)
        if current is None:
            return None
        told = self.told.get(change.merchant_id, change.shipment_id)
        notice = next_notice(change.merchant_id, change.shipment_id, told, current)
        if notice is None and not (told or {}).get("original"):
            self.told.record_original(change.merchant_id, change.shipment_id, current.to_dict())
        return notice

    def check(self, item: dict[str, Any]) -> list[Outcome]:
        """The scheduled check of a stored shipment item that did not change status: tells its estimate's
        revision as a status change would (same guards, opt-in and quiet hours)."""
        change = standing(item)
        if change is None or not self.notifier.should_handle(change.state):
            return []  # another region's write: that region's check tells it
        return self(change)

    def __call__(self, change: StatusChange) -> list[Outcome]:
        """Tell the change's estimate revision, if any; raises DeliveryFailed when an outcome was not recorded."""
        try:
            notice = self.notice(change)
        except Exception as exc:  # reading the lanes or the last estimate failed: a retry can help
            raise DeliveryFailed(f"estimate: {type(exc).__name__}: {exc}") from exc
        if notice is None:
            return []
        merchant = self.notifier.merchants.get(change.merchant_id) or {}
        outcomes: list[Outcome] = []
        failures: list[str] = []
        for channel, action in (("webhook", self._webhook), ("customer", self._customer)):
            entry = partial(self.entry, notice, change, channel)
            try:
                skipped = self._skip_reason(channel, change, merchant)
                if skipped:
                    self.notifier.log.record(entry("skipped", detail=skipped))
                    outcomes.append(Outcome(channel, "skipped", skipped))
                    continue
                result = self.notifier.once.run_once(self.log_key(notice, channel),
                                                     lambda a=action, e=entry: a(notice, change, merchant, e))
                outcomes.append(Outcome(channel, result["outcome"], result.get("detail", "")))
            except Exception as exc:
                failures.append(f"estimate {channel}: {type(exc).__name__}: {exc}")
        try:
            if not failures and not self.told.save(notice.merchant_id, notice.shipment_id, notice.revision,
                                                   notice.current.to_dict()):
                log.info("estimate revision %s was recorded by another invocation", notice.key)
        except Exception as exc:
            failures.append(f"estimate record: {type(exc).__name__}: {exc}")
        if failures:
            raise DeliveryFailed("; ".join(failures))
        return outcomes

    # -- what is sent ----------------------------------------------------------------------------
    @staticmethod
    def log_key(notice: EstimateNotice, channel: str) -> str:
        """The guard key, ``<shipment_key>#estimate#<revision>#<channel>`` (the log item's key, as for changes)."""
        return f"{notice.merchant_id}#{notice.shipment_id}#estimate#{notice.revision:06d}#{channel}"

    def entry(self, notice: EstimateNotice, change: StatusChange, channel: str, outcome: str,
              **extra: Any) -> dict[str, Any]:
        """The notice's log item for ``channel`` (also its outbox entry while it waits)."""
        return {
            "shipment_key": f"{notice.merchant_id}#{notice.shipment_id}",
            "notification_id": f"estimate#{notice.revision:06d}#{channel}",
            "merchant_id": notice.merchant_id,
            "shipment_id": notice.shipment_id,
            "channel": channel,
            "type": EVENT_TYPE,
            "status": change.new_status.value,
            "revision": notice.revision,
            "reason": notice.reason,
            "change_key": notice.key,
            "outcome": outcome,
            "created_at": self.notifier.clock().isoformat(timespec="milliseconds"),
            **extra,
        }

    def _skip_reason(self, channel: str, change: StatusChange, merchant: dict[str, Any]) -> str | None:
        if channel == "webhook":
            return None if merchant.get("webhook_url") and merchant.get("webhook_secret") else "no webhook configured"
        if not customer_channels(change.state.get("customer"), change.new_status, self.notifier.wanted(merchant)):
            return "recipient not opted in"
        return None

    def webhook_body(self, notice: EstimateNotice, change: StatusChange) -> bytes:
        """The ``delivery_estimate_revised`` body: ``id`` names the revision, ``revision`` orders them."""
        state, now = change.state, notice.current
        payload = {
            "type": EVENT_TYPE,
            "id": notice.key,
            "revision": notice.revision,
            "reason": notice.reason,
            "merchant_id": notice.merchant_id,
            "shipment_id": notice.shipment_id,
            "order_ref": state.get("order_ref"),
            "tracking_number": state.get("tracking_number"),
            "carrier": state.get("carrier"),
            "status": change.new_status.value,
            "previous": window(notice.previous),
            "estimate": window(now.to_dict()),
            "promised_date": now.carrier_eta,
            "carrier_eta": state.get("eta"),
            "trending_late": now.trending_late,
            "basis": now.basis,
            "made_at": now.made_at.isoformat(timespec="seconds"),
            "tracking_url": self.notifier.tracking_url(change),
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()

    def customer_message(self, notice: EstimateNotice, change: StatusChange) -> dict[str, Any]:
        """Dates and a sentence for the customer; no statistics, no carrier promise, no lane."""
        customer = change.state.get("customer") or {}
        return {
            "type": EVENT_TYPE,
            "merchant_id": notice.merchant_id,
            "shipment_id": notice.shipment_id,
            "status": change.new_status.value,  # subscribers filter on it, as for status messages
            "contact_ref": customer.get("contact_ref"),
            "channels": customer.get("channels") or [],
            "locale": customer.get("locale"),
            "estimate": window(notice.current.to_dict()),
            "text": customer_text(notice),
            "tracking_url": self.notifier.tracking_url(change),
            "change_key": notice.key,
        }

    def _webhook(self, notice: EstimateNotice, change: StatusChange, merchant: dict[str, Any],
                 entry: Callable[..., dict[str, Any]]) -> dict[str, Any]:
        return self.notifier.send_webhook(entry, merchant, self.webhook_body(notice, change))

    def _customer(self, notice: EstimateNotice, change: StatusChange, merchant: dict[str, Any],
                  entry: Callable[..., dict[str, Any]]) -> dict[str, Any]:
        customer = change.state.get("customer")
        channels = customer_channels(customer, change.new_status, self.notifier.wanted(merchant))
        return self.notifier.send_customer_message(entry, customer, channels, self.customer_message(notice, change))
