"""The event builders of one shipment: a clock that only moves forward, and one method per event kind.

:class:`ShipmentTrack` appends contract-valid shipment events (:meth:`~ShipmentTrack.ship`) and
scan-gun warehouse events (:meth:`~ShipmentTrack.scan`) in whole, strictly increasing seconds, and
records the status timeline the cold chain places its events against. The journey phases
(:mod:`.journeys`, :mod:`.line_haul`, :mod:`.last_mile`, :mod:`.returns`, :mod:`.cold_chain`)
drive it; all randomness comes from the planner's seeded generator.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from local_runtime.simulator.devices import ScanGuns
from local_runtime.simulator.emission import SHIPMENT, Emission, local_iso, zone
from local_runtime.simulator.places import Facility, Place, Warehouse
from logistics.domain.events import WAREHOUSE_TO_SHIPMENT_STATUS
from logistics.domain.status import Status

if TYPE_CHECKING:
    from local_runtime.simulator.carriers import Carrier
    from local_runtime.simulator.journeys import JourneyPlanner
    from local_runtime.simulator.merchants import Merchant
    from local_runtime.simulator.world import Customer


class ShipmentTrack:
    """Builds the events of one shipment, keeping its clock strictly increasing in whole seconds."""

    def __init__(self, planner: JourneyPlanner, merchant: Merchant, shipment_id: str, order_ref: str,
                 carrier: Carrier, customer: Customer, start: datetime) -> None:
        self.planner = planner
        self.rng = planner.rng
        self.merchant = merchant
        self.shipment_id = shipment_id
        self.order_ref = order_ref
        self.carrier = carrier
        self.customer = customer
        self.tracking_number: str | None = None
        self.t = start.replace(microsecond=0)
        self.last: datetime | None = None
        self.emissions: list[Emission] = []
        # (time, status the event gives the shipment, place, facility) for every status-bearing event
        self.timeline: list[tuple[datetime, Status, Place, str | None]] = []
        self.path: list[Facility] = []  # carrier facilities visited, in order (for returns to sender)

    # -- clock -------------------------------------------------------------------------------------

    def minutes(self, lo: float, hi: float) -> None:
        """Move the clock on by a uniform draw of ``lo`` to ``hi`` minutes."""
        self.t += timedelta(seconds=round(self.rng.uniform(lo, hi) * 60))

    def hours(self, lo: float, hi: float) -> None:
        """Move the clock on by a uniform draw of ``lo`` to ``hi`` hours."""
        self.t += timedelta(seconds=round(self.rng.uniform(lo, hi) * 3600))

    def advance(self, span: timedelta) -> None:
        """Move the clock on by ``span`` (at least a minute), rounded to whole seconds."""
        self.t += timedelta(seconds=max(60, round(span.total_seconds())))

    def within(self, place: Place, start_h: int, end_h: int) -> None:
        """Move the clock into the next local working window ``[start_h, end_h)`` at ``place``."""
        tz = zone(place.tz)
        local = self.t.astimezone(tz)
        if start_h <= local.hour < end_h:
            return
        day = local.date() if local.hour < start_h else local.date() + timedelta(days=1)
        opening = datetime.combine(day, time(start_h), tzinfo=tz).astimezone(UTC)
        spread = min(90.0, (end_h - start_h) * 60 / 3)
        self.t = opening + timedelta(seconds=round(self.rng.uniform(0, spread) * 60))

    def _stamp(self) -> datetime:
        at = self.t.replace(microsecond=0)
        if self.last is not None and at <= self.last:
            at = self.last + timedelta(seconds=self.rng.randint(1, 20))
        self.t = self.last = at
        return at

    # -- events ------------------------------------------------------------------------------------

    def ship(
        self,
        status: Status,
        sub_status: str | None,
        place: Place,
        facility_id: str | None = None,
        *,
        by: str = "carrier",
        eta: dict[str, Any] | None = None,
        exception: dict[str, Any] | None = None,
        customer: bool = False,
        correction_of: str | None = None,
        extras: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> str:
        """Append a shipment event; returns its event id. ``by`` is merchant or carrier (schema version)."""
        at = self._stamp() if at is None else at
        version = self.merchant.schema_version if by == "merchant" else self.carrier.schema_version
        event_id = self.planner.ids.event_id(at)
        payload: dict[str, Any] = {
            "event_id": event_id,
            "schema_version": version,
            "event_type": "correction" if correction_of else "tracking_update",
            "merchant_id": self.merchant.merchant_id,
            "shipment_id": self.shipment_id,
            # Carriers do not know the merchant's order reference; the merchant's own events do.
            "order_ref": self.order_ref if by == "merchant" else None,
            "carrier": self.carrier.code,
            "tracking_number": self.tracking_number,
            "status": status.value,
            "sub_status": sub_status,
            "occurred_at": local_iso(at, place.tz),
            "location": place.location(facility_id),
        }
        if eta is not None:
            payload["eta"] = eta
        if exception is not None:
            payload["exception"] = exception
        if customer:
            payload["customer"] = self.customer.as_contract()
        if correction_of is not None:
            payload["correction_of"] = correction_of
        if version >= 2 and extras:
            payload.update(extras)  # v2 only: service_level, parcel
        self.emissions.append(Emission(at, SHIPMENT, self.shipment_id, payload))
        self.timeline.append((at, status, place, facility_id))
        return event_id

    def pass_through(self, status: Status, facility: Facility, travel_h: tuple[float, float], *,
                     customs: bool = False) -> None:
        """Travel ``travel_h`` hours to ``facility``, arrive, (be released from customs,) and depart."""
        self.hours(*travel_h)
        self.ship(status, "arrived_at_facility", facility.place, facility.facility_id)
        if customs:
            self.hours(2, 24)
            self.ship(status, "customs_released", facility.place, facility.facility_id)
        self.hours(1, 8)
        self.ship(status, "departed_facility", facility.place, facility.facility_id)

    def scan(self, warehouse: Warehouse, event_type: str, items: list[tuple[str, int]], *, zone: str | None,
             bin: str | None = None) -> str:
        """A scan-gun event about this shipment in ``warehouse``."""
        at = self._stamp()
        gun: ScanGuns = self.planner.guns[warehouse.warehouse_id]
        emission = gun.scan(self.merchant.merchant_id, event_type, at, items, zone=zone, bin=bin,
                            shipment_id=self.shipment_id, order_ref=self.order_ref)
        self.emissions.append(emission)
        status = WAREHOUSE_TO_SHIPMENT_STATUS.get(event_type)
        if status is not None:
            self.timeline.append((at, status, warehouse.place, warehouse.warehouse_id))
        return emission.payload["event_id"]


def eta_of(at: datetime, place: Place, window: tuple[int, int] | None = None) -> dict[str, Any]:
    """The contract's ``eta``: local date at ``place`` and an optional hour window."""
    local = at.astimezone(zone(place.tz))
    return {
        "date": local.date().isoformat(),
        "window_start": f"{window[0]:02d}:00" if window else None,
        "window_end": f"{window[1]:02d}:00" if window else None,
    }


def exception_of(reason: str, party: str, action: str | None) -> dict[str, Any]:
    """The contract's ``exception`` object: why, who must act, and what they must do (if anything)."""
    return {"reason": reason, "responsible_party": party, "action_required": action}

