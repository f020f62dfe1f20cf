"""Proactive delivery-estimate notices: which prediction is worth telling, its revision number, and the words.

The last prediction told about a shipment is kept with its revision number (1 for the first one told). A new
prediction is told when :func:`~logistics.domain.prediction.revision` says so (the most likely date moved by a
day or more, or it just started trending late); it then becomes revision ``n + 1``. Nothing is told for the
first prediction of a shipment that is not late: its ETA already says as much.

Whether told or not, the first prediction made for a shipment is kept as its *original*, beside the last one
told (the *current*), so the merchant sees how far the estimate has travelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from logistics.domain.notifications import StatusChange
from logistics.domain.prediction import Prediction, revision
from logistics.domain.status import Status

EVENT_TYPE = "delivery_estimate_revised"


@dataclass(frozen=True)
class EstimateNotice:
    """One revision of a shipment's delivery estimate, to tell the merchant and the customer once."""

    merchant_id: str
    shipment_id: str
    revision: int
    reason: str  # moved | trending_late
    previous: Mapping[str, Any] | None  # the prediction told before (Prediction.to_dict), if any
    current: Prediction

    @property
    def key(self) -> str:
        """Identity of the revision: receivers de-duplicate on it."""
        return f"{self.merchant_id}#{self.shipment_id}#{EVENT_TYPE}#{self.revision}"


def next_notice(merchant_id: str, shipment_id: str, told: Mapping[str, Any] | None,
                current: Prediction) -> EstimateNotice | None:
    """The notice ``current`` deserves given what was ``told`` (``{"revision", "prediction"}``), or None."""
    previous = (told or {}).get("prediction")
    reason = revision(previous, current)
    if reason is None:
        return None
    return EstimateNotice(merchant_id, shipment_id, int((told or {}).get("revision") or 0) + 1, reason, previous,
                          current)


def standing(item: Mapping[str, Any]) -> StatusChange | None:
    """A shipment's current status as a change that did not happen now (``old_status`` is the status itself):
    what the scheduled check hands to the notices, whose bodies and opt-in rules read a change."""
    status = item.get("status")
    if not status or not item.get("merchant_id") or not item.get("shipment_id"):
        return None
    return StatusChange(merchant_id=str(item["merchant_id"]), shipment_id=str(item["shipment_id"]),
                        old_status=Status(status), new_status=Status(status),
                        status_event_id=str(item.get("status_event_id", "")),
                        changed_at=str(item.get("status_changed_at", "")), state=dict(item))


def window(prediction: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The dates of a prediction that a notice shows: most likely, and the p10-p90 window."""
    if prediction is None:
        return None
    return {"likely": prediction["likely"], "earliest": prediction["earliest"], "latest": prediction["latest"]}


def _day(value: date) -> str:
    return f"{value:%A} {value.day} {value:%B}"


def customer_text(notice: EstimateNotice) -> str:
    """Customer-safe wording: dates only, no statistics, no carrier promise quoted, no blame."""
    now = notice.current
    between = "" if now.earliest == now.latest else f" (between {_day(now.earliest)} and {_day(now.latest)})"
    if notice.reason == "trending_late":
        return f"Your parcel may arrive later than first expected. It is now expected on {_day(now.likely)}{between}."
    return f"We have updated your delivery estimate: your parcel is now expected on {_day(now.likely)}{between}."
