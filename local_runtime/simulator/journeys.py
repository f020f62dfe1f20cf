"""Plausible shipment journeys, each a sequence of contract-valid events in occurrence order.

A journey starts with the merchant's order (``CREATED``), goes through the warehouse floor (scan guns:
picked, packed, staged, loaded, dispatched, which the platform maps to ``PROCESSING`` and
``READY_TO_SHIP``), is picked up by the carrier and travels its route hub by hub (``IN_TRANSIT`` with
sub-statuses such as ``arrived_at_facility``/``departed_facility``, customs on cross-border routes),
and ends in one of the outcomes of :data:`SCENARIOS`: delivery (maybe after attempts or from a pickup
point), return to sender, loss, cancellation, with exceptions, delays and ETA updates along the way.
Delivered orders are sometimes sent back by the customer as a separate return shipment.

Invariant (tested): in occurrence order, every status of a journey is allowed after the previous one by
``logistics.domain.status.is_allowed``, except for the documented correction flow (a ``correction``
event voids a wrong ``DELIVERED`` scan). Times of one shipment are strictly increasing whole seconds, so
occurrence order never depends on event-id tie breaks. Every choice comes from the planner's seeded
generator: the same generator state plans the same journey.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from local_runtime.simulator.devices import ScanGuns, TemperatureLogger, slot
from local_runtime.simulator.world import (
    CITIES,
    SHIPMENT,
    Carrier,
    Customer,
    Emission,
    Facility,
    Ids,
    Merchant,
    Place,
    Route,
    Sku,
    TempRange,
    Warehouse,
    World,
    customs_zone,
    local_iso,
    weighted,
    zone,
)
from logistics.domain.events import WAREHOUSE_TO_SHIPMENT_STATUS
from logistics.domain.status import TERMINAL, Status

# Outcome mix. Customs holds only apply to cross-border routes (others fall back to "delivered").
SCENARIOS: dict[str, float] = {
    "delivered": 0.47,
    "delivered_after_attempt": 0.08,
    "pickup_point": 0.06,
    "return_to_sender": 0.03,
    "refused": 0.015,
    "address_exception": 0.04,
    "damaged_in_transit": 0.025,
    "weather_delay": 0.05,
    "carrier_delay": 0.05,
    "customs_hold": 0.06,
    "lost": 0.015,
    "cancelled": 0.04,
    "warehouse_exception": 0.025,
    "misdelivery_corrected": 0.01,
}
CUSTOMER_RETURN = "customer_return"
MERCHANT_WEIGHTS = (0.32, 0.3, 0.18, 0.2)  # order volume per merchant, in MERCHANTS order

# Statuses a parcel can be in while a logger's reading may change it (temperature events).
_ACTIVE = frozenset({Status.PICKED_UP, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.DELIVERY_ATTEMPTED,
                     Status.AVAILABLE_FOR_PICKUP, Status.RETURNING})

_WEATHER = {
    "EU": ("severe weather: winter storm", "severe weather: flooding"),
    "NA": ("severe weather: blizzard", "severe weather: hurricane warning", "severe weather: ice storm"),
    "APAC": ("severe weather: typhoon", "severe weather: monsoon flooding", "severe weather: bushfire closures"),
}
_CUSTOMS_HOLDS = (
    ("import duties and taxes unpaid", "customer", "pay the import duties with the carrier's payment link"),
    ("commercial invoice missing", "merchant", "upload the commercial invoice to the carrier"),
    ("selected for customs inspection", "customs", None),
    ("HS code does not match the goods description", "merchant", "correct the customs declaration"),
)
_ADDRESS_ISSUES = (
    ("address incomplete: apartment number missing", "customer", "confirm or correct the delivery address"),
    ("address not found", "customer", "contact the carrier with a corrected address"),
    ("recipient name not on the mailbox", "customer", "confirm the recipient's name"),
)
_ATTEMPT_REASONS = ("recipient_not_home", "access_problem", "business_closed", "no_safe_place")
_DELIVERED_SUBS = ("delivered", "left_at_front_door", "delivered_to_neighbour", "signed_by_recipient",
                   "delivered_to_mailroom")


@dataclass
class Journey:
    """What a journey produced: its events (main shipment and any return shipment) and what it was."""

    shipment_id: str
    merchant_id: str
    scenario: str
    route: Route
    cold: TempRange | None
    emissions: list[Emission]
    scenarios: dict[str, str] = field(default_factory=dict)  # shipment id -> scenario (incl. returns)

    @property
    def starts_at(self) -> datetime:
        return min(e.at for e in self.emissions)

    @property
    def ends_at(self) -> datetime:
        return max(e.at for e in self.emissions)


class _Track:
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
        self.t += timedelta(seconds=round(self.rng.uniform(lo, hi) * 60))

    def hours(self, lo: float, hi: float) -> None:
        self.t += timedelta(seconds=round(self.rng.uniform(lo, hi) * 3600))

    def advance(self, span: timedelta) -> None:
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


def _exception(reason: str, party: str, action: str | None) -> dict[str, Any]:
    return {"reason": reason, "responsible_party": party, "action_required": action}


class JourneyPlanner:
    """Plans whole journeys from a seeded generator."""

    def __init__(self, world: World, rng: random.Random, ids: Ids, guns: dict[str, ScanGuns]) -> None:
        self.world = world
        self.rng = rng
        self.ids = ids
        self.guns = guns

    # -- entry point -------------------------------------------------------------------------------

    def plan(self, start: datetime, scenario: str | None = None) -> Journey:
        """Plan one journey whose order is placed at ``start`` (UTC). ``scenario`` forces an outcome."""
        rng = self.rng
        merchant = weighted(rng, list(zip(self.world.merchants, MERCHANT_WEIGHTS, strict=True)))
        geo = self.world.destination_geo(merchant, rng)
        dest = rng.choice(CITIES[geo])
        origin = self.world.origin_for(merchant, geo, rng)
        customer = self.world.customer(merchant, dest, rng)
        lines = self._lines(merchant)
        cold = next((s.cold for s, _ in lines if s.cold is not None), None)
        service = weighted(rng, merchant.service_levels)
        if service == "same_day" and origin.place.country != dest.country:
            service = "express"
        route = self.world.route(origin, dest, rng, service)
        scenario = scenario or weighted(rng, SCENARIOS)
        if scenario == "customs_hold" and not route.cross_border:
            scenario = "delivered"

        shipment_id = self.ids.shipment_id()
        track = _Track(self, merchant, shipment_id, self.ids.order_ref(merchant), route.carrier, customer, start)
        extras = {"service_level": service, "parcel": self._parcel(lines)}
        planned = start + timedelta(days=0.4 if service == "same_day" else 1.0) + route.transit
        eta = eta_of(planned, dest)

        scenarios = {shipment_id: scenario}
        emissions: list[Emission] = []
        if self._warehouse_phase(track, scenario, origin, lines, eta, extras):
            outcome = self._line_haul(track, scenario, route, eta)
            if outcome == "arrived":
                outcome = self._last_mile(track, scenario, route, merchant)
            if outcome == "returning":
                self._return_to_sender(track, route, lines, track.path)
            if cold is not None:
                self._temperature(track, cold, merchant)
            if outcome == "delivered" and rng.random() < merchant.return_rate:
                back = self._customer_return(track, route, lines, merchant, customer)
                emissions += back.emissions
                scenarios[back.shipment_id] = CUSTOMER_RETURN
        emissions = sorted(track.emissions, key=lambda e: e.at) + emissions
        return Journey(shipment_id, merchant.merchant_id, scenario, route, cold, emissions, scenarios)

    # -- pieces ------------------------------------------------------------------------------------

    def _lines(self, merchant: Merchant) -> list[tuple[Sku, int]]:
        count = weighted(self.rng, ((1, 0.6), (2, 0.28), (3, 0.12)))
        skus = self.rng.sample(list(merchant.skus), k=min(count, len(merchant.skus)))
        return [(s, weighted(self.rng, ((1, 0.75), (2, 0.2), (3, 0.05)))) for s in skus]

    @staticmethod
    def _parcel(lines: list[tuple[Sku, int]]) -> dict[str, Any]:
        weight = sum(s.weight_kg * q for s, q in lines) + 0.2  # plus packaging
        dims = [max(s.dims_cm[i] for s, _ in lines) + 2 for i in range(3)]
        return {"pieces": 1, "weight_kg": round(weight, 2), "dimensions_cm": dims}

    def _warehouse_phase(self, t: _Track, scenario: str, origin: Warehouse, lines: list[tuple[Sku, int]],
                         eta: dict[str, Any], extras: dict[str, Any]) -> bool:
        """Order to carrier pickup. Returns False when the order was cancelled."""
        rng = self.rng
        items = [(s.sku, q) for s, q in lines]
        t.ship(Status.CREATED, "order_created", origin.place, origin.warehouse_id, by="merchant", eta=eta,
               customer=True, extras={"service_level": extras["service_level"]})
        if scenario == "cancelled" and rng.random() < 0.4:
            t.minutes(5, 240)
            t.ship(Status.CANCELLED, "cancelled_by_customer", origin.place, origin.warehouse_id, by="merchant")
            return False
        t.minutes(15, 120)
        t.within(origin.place, 6, 22)  # picking runs in two shifts
        pick_zone, pick_bin = slot(lines[0][0])
        t.scan(origin, "picked", items, zone=pick_zone, bin=pick_bin)
        if scenario == "warehouse_exception":
            t.minutes(3, 30)
            reason, action = rng.choice((
                ("item damaged during picking", "replacement item being picked from reserve stock"),
                ("stock discrepancy at the pick bin", "replacement item being picked from reserve stock"),
            ))
            t.ship(Status.EXCEPTION, "warehouse_issue", origin.place, origin.warehouse_id, by="merchant",
                   exception=_exception(reason, "merchant", action))
            t.minutes(20, 180)
            sku = lines[0][0]
            zone_, bin_ = slot(sku)
            t.scan(origin, "adjusted", [(sku.sku, -1)], zone=zone_, bin=bin_)  # write off the damaged unit
            t.minutes(5, 40)
            t.scan(origin, "picked", [(sku.sku, 1)], zone=zone_, bin=bin_)
        t.minutes(5, 45)
        t.scan(origin, "packed", items, zone="PACK", bin=f"PACK-{rng.randint(1, 12):02d}")
        if scenario == "cancelled":
            t.minutes(10, 180)
            t.ship(Status.CANCELLED, rng.choice(("cancelled_by_customer", "cancelled_by_merchant")),
                   origin.place, origin.warehouse_id, by="merchant")
            t.minutes(20, 240)
            # The packed goods go back to their bins: stock comes back with a positive adjustment.
            t.scan(origin, "adjusted", items, zone=pick_zone, bin=pick_bin)
            return False
        t.minutes(2, 20)
        t.tracking_number = t.carrier.tracking_number(rng)
        t.ship(Status.READY_TO_SHIP, "label_created", origin.place, origin.warehouse_id, by="merchant", eta=eta)
        t.minutes(5, 60)
        t.scan(origin, "staged", items, zone="STAGE", bin=f"STAGE-{rng.randint(1, 6)}")
        t.within(origin.place, 14, 20)  # carrier collection slot
        dock = f"DOCK-{rng.randint(1, 8):02d}"
        t.scan(origin, "loaded", items, zone="DOCK", bin=dock)
        t.minutes(3, 25)
        t.scan(origin, "dispatched", items, zone="DOCK", bin=dock)
        t.minutes(1, 15)
        t.ship(Status.PICKED_UP, "picked_up", origin.place, origin.warehouse_id, extras=extras)
        return True

    def _line_haul(self, t: _Track, scenario: str, route: Route, eta: dict[str, Any]) -> str:
        """Hub to hub up to the delivery station: "arrived", "lost" or "returning" (damaged)."""
        rng = self.rng
        legs = list(route.legs)
        shares = [rng.uniform(0.6, 1.4) for _ in legs]
        total = sum(shares)
        # First hop is a truck to the origin hub; the rest of the planned transit is spread over the legs.
        hops = [timedelta(hours=rng.uniform(1, 5))] + [route.transit * (s / total) for s in shares[1:]]
        last_hop = route.transit * (shares[0] / total)
        incident_leg = rng.randrange(len(legs))
        for i, facility in enumerate(legs):
            t.advance(hops[i] * 0.75)
            t.ship(Status.IN_TRANSIT, "arrived_at_facility", facility.place, facility.facility_id)
            t.path.append(facility)
            if i == incident_leg:
                outcome = self._incident(t, scenario, facility, eta)
                if outcome is not None:
                    return outcome
            if facility == route.customs_at:
                self._customs(t, scenario, facility)
            t.advance(hops[i] * 0.25)
            t.ship(Status.IN_TRANSIT, "departed_facility", facility.place, facility.facility_id)
            if scenario == "lost" and i == incident_leg:
                self._lost(t, facility)
                return "lost"
        t.advance(last_hop)
        t.ship(Status.IN_TRANSIT, "arrived_at_delivery_station", route.station.place, route.station.facility_id)
        t.path.append(route.station)
        if route.customs_at == route.station:
            self._customs(t, scenario, route.station)
        return "arrived"

    def _incident(self, t: _Track, scenario: str, facility: Facility, eta: dict[str, Any]) -> str | None:
        rng = self.rng
        where = (facility.place, facility.facility_id)
        if scenario == "carrier_delay":
            t.minutes(10, 120)
            slip = timedelta(days=rng.randint(1, 3))
            new_eta = {**eta, "date": (datetime.fromisoformat(eta["date"]) + slip).date().isoformat()}
            t.ship(Status.IN_TRANSIT, rng.choice(("delayed", "missed_connection", "capacity_delay")), *where,
                   eta=new_eta)
            t.hours(12, 60)
        elif scenario == "weather_delay":
            t.minutes(10, 120)
            t.ship(Status.EXCEPTION, "weather_delay", *where,
                   exception=_exception(rng.choice(_WEATHER[facility.place.geo]), "weather", None))
            t.hours(12, 48)
            new_eta = {**eta, "date": (datetime.fromisoformat(eta["date"]) + timedelta(days=rng.randint(1, 2)))
                       .date().isoformat()}
            t.ship(Status.IN_TRANSIT, "resumed_after_delay", *where, eta=new_eta)
        elif scenario == "damaged_in_transit":
            t.minutes(10, 240)
            t.ship(Status.EXCEPTION, "damaged", *where, exception=_exception(
                "parcel damaged in transit", "carrier", "carrier is repackaging; merchant decides on a replacement"))
            t.hours(4, 30)
            if rng.random() < 0.5:
                t.ship(Status.IN_TRANSIT, "repackaged", *where)
            else:
                t.ship(Status.RETURNING, "damaged_return_to_sender", *where)
                return "returning"
        return None

    def _customs(self, t: _Track, scenario: str, facility: Facility) -> None:
        where = (facility.place, facility.facility_id)
        t.minutes(20, 180)
        t.ship(Status.IN_TRANSIT, "customs_clearance_started", *where)
        if scenario == "customs_hold":
            t.hours(2, 12)
            reason, party, action = self.rng.choice(_CUSTOMS_HOLDS)
            t.ship(Status.EXCEPTION, "customs_held", *where, exception=_exception(reason, party, action))
            t.hours(20, 96)
        else:
            t.hours(1, 18)
        t.ship(Status.IN_TRANSIT, "customs_released", *where)

    def _lost(self, t: _Track, facility: Facility) -> None:
        silent = self.rng.randint(3, 6)
        t.hours(24 * silent, 24 * silent + 20)
        t.ship(Status.EXCEPTION, "no_scan", facility.place, facility.facility_id, exception=_exception(
            f"no tracking scan for {silent} days", "carrier",
            "carrier trace opened; merchant may reship or refund"))
        t.hours(96, 240)
        t.ship(Status.LOST, "declared_lost", facility.place, facility.facility_id)

    def _out_for_delivery(self, t: _Track, route: Route) -> tuple[int, int]:
        """Next morning's round: the OFD event with the promised window; returns the window."""
        t.minutes(30, 240)
        t.within(route.destination, 7, 10)
        start_h = self.rng.randint(8, 16)
        window = (start_h, min(start_h + self.rng.randint(2, 4), 21))
        t.ship(Status.OUT_FOR_DELIVERY, "out_for_delivery", route.station.place, route.station.facility_id,
               eta=eta_of(t.t, route.destination, window))
        return window

    def _at_door(self, t: _Track, route: Route, window: tuple[int, int]) -> None:
        """Move the clock to the doorstep: mostly inside the promised window, sometimes outside it."""
        tz = zone(route.destination.tz)
        day = t.t.astimezone(tz).date()
        lo, hi = window if self.rng.random() < 0.88 else (max(8, window[0] - 2), min(21, window[1] + 2))
        target = datetime.combine(day, time(lo), tzinfo=tz).astimezone(UTC)
        target += timedelta(seconds=round(self.rng.uniform(0, (hi - lo) * 3600 - 60)))
        t.t = max(t.t + timedelta(minutes=10), target)

    def _last_mile(self, t: _Track, scenario: str, route: Route, merchant: Merchant) -> str:
        """From the delivery station to a terminal outcome: "delivered", "returning"."""
        rng = self.rng
        dest = route.destination
        if rng.random() < 0.4:
            t.minutes(20, 120)
            t.ship(Status.IN_TRANSIT, "eta_updated", route.station.place, route.station.facility_id,
                   eta=eta_of(t.t + timedelta(hours=14), dest))
        window = self._out_for_delivery(t, route)
        self._at_door(t, route, window)
        pudo = Facility(f"PUDO-{dest.code}{rng.randint(10, 99)}", dest, "pickup_point")
        signed = "signed_by_recipient" if merchant.signature_required else None

        if scenario == "address_exception":
            reason, party, action = rng.choice(_ADDRESS_ISSUES)
            t.ship(Status.EXCEPTION, "address_issue", dest, exception=_exception(reason, party, action))
            t.hours(12, 48)
            t.ship(Status.IN_TRANSIT, "address_corrected", route.station.place, route.station.facility_id)
            window = self._out_for_delivery(t, route)
            self._at_door(t, route, window)
        elif scenario in ("delivered_after_attempt", "pickup_point", "return_to_sender"):
            attempts = 1 if scenario == "pickup_point" else rng.randint(1, 2)
            for n in range(attempts):
                t.ship(Status.DELIVERY_ATTEMPTED, rng.choice(_ATTEMPT_REASONS), dest,
                       eta=eta_of(t.t + timedelta(days=1), dest))
                if scenario == "delivered_after_attempt" or n + 1 < attempts:
                    window = self._out_for_delivery(t, route)
                    self._at_door(t, route, window)
            if scenario != "delivered_after_attempt":
                t.hours(2, 8)
                t.within(dest, 9, 19)
                t.ship(Status.AVAILABLE_FOR_PICKUP, "available_for_pickup", pudo.place, pudo.facility_id)
                if scenario == "return_to_sender":
                    t.hours(24 * 7, 24 * 7 + 20)  # not collected within the holding period
                    t.ship(Status.RETURNING, "not_collected_return_to_sender", pudo.place, pudo.facility_id)
                    t.path.append(pudo)
                    return "returning"
                t.hours(20, 96)
                t.within(dest, 9, 20)
                t.ship(Status.DELIVERED, "picked_up_by_customer", pudo.place, pudo.facility_id)
                return "delivered"
        elif scenario == "refused":
            t.ship(Status.DELIVERY_ATTEMPTED, "refused_by_recipient", dest)
            t.hours(2, 20)
            t.ship(Status.RETURNING, "refused_return_to_sender", route.station.place, route.station.facility_id)
            return "returning"
        elif scenario == "misdelivery_corrected":
            wrong = t.ship(Status.DELIVERED, "delivered", dest)
            t.hours(20, 72)  # the customer reports it missing; the carrier finds the wrong address
            t.ship(Status.IN_TRANSIT, "delivery_scan_reversed", route.station.place, route.station.facility_id,
                   correction_of=wrong)
            window = self._out_for_delivery(t, route)
            self._at_door(t, route, window)
        t.ship(Status.DELIVERED, signed or rng.choice(_DELIVERED_SUBS), dest)
        return "delivered"

    def _return_to_sender(self, t: _Track, route: Route, lines: list[tuple[Sku, int]],
                          path: list[Facility]) -> None:
        """RETURNING back through the facilities passed so far to the origin warehouse, then return_received."""
        origin = route.origin
        for facility in reversed(path[:-1]):  # the parcel is at path[-1] already
            t.hours(4, 30)
            t.ship(Status.RETURNING, "arrived_at_facility", facility.place, facility.facility_id)
            if route.cross_border and customs_zone(facility.place.country) == customs_zone(origin.place.country) \
                    and facility == route.legs[0]:
                t.hours(2, 24)
                t.ship(Status.RETURNING, "customs_released", facility.place, facility.facility_id)
            t.hours(1, 8)
            t.ship(Status.RETURNING, "departed_facility", facility.place, facility.facility_id)
        t.hours(2, 10)
        t.within(origin.place, 7, 20)
        t.ship(Status.RETURNED, "returned_to_sender", origin.place, origin.warehouse_id)
        t.minutes(30, 300)
        t.within(origin.place, 7, 21)
        t.scan(origin, "return_received", [(s.sku, q) for s, q in lines], zone="RETURNS",
               bin=f"RET-{self.rng.randint(1, 20):02d}")

    def _customer_return(self, main: _Track, route: Route, lines: list[tuple[Sku, int]], merchant: Merchant,
                         customer: Customer) -> _Track:
        """A delivered order sent back: a new shipment from the customer's city to the origin warehouse."""
        rng = self.rng
        dest, origin = route.destination, route.origin
        start = main.t + timedelta(days=rng.uniform(1, 14))
        back = _Track(self, merchant, self.ids.shipment_id("RTN"), main.order_ref, route.carrier, customer, start)
        back.within(dest, 9, 21)
        back.tracking_number = back.carrier.tracking_number(rng)
        back.ship(Status.CREATED, "return_label_created", dest, by="merchant", customer=True)
        back.hours(12, 72)
        back.within(dest, 9, 19)
        pudo = f"PUDO-{dest.code}{rng.randint(10, 99)}"
        back.ship(Status.PICKED_UP, "dropped_off_at_pickup_point", dest, pudo)
        for facility in (route.station, *reversed(route.legs)):
            back.hours(3, 30)
            back.ship(Status.IN_TRANSIT, "arrived_at_facility", facility.place, facility.facility_id)
            back.hours(1, 8)
            back.ship(Status.IN_TRANSIT, "departed_facility", facility.place, facility.facility_id)
        back.hours(2, 12)
        back.within(origin.place, 7, 21)
        returned = [(s.sku, q) for s, q in lines[: rng.randint(1, len(lines))]]  # may keep part of the order
        back.scan(origin, "return_received", returned, zone="RETURNS", bin=f"RET-{rng.randint(1, 20):02d}")
        return back

    def _temperature(self, t: _Track, limits: TempRange, merchant: Merchant) -> None:
        """Cold chain: a logger rides from pickup to the first terminal event; excursions become events.

        An excursion becomes an ``EXCEPTION`` (sub-status ``temperature_excursion``) while the parcel
        is moving, and the first reading back in range restores the status the parcel then had
        (``temperature_recovered``). Both are placed against the journey's own events only, so they
        can never move the status in a way the status model forbids.
        """
        journey = sorted(t.timeline, key=lambda row: row[0])

        def status_at(at: datetime) -> tuple[Status, Place, str | None] | None:
            current = None
            for when, status, place, facility in journey:
                if when > at:
                    break
                current = (status, place, facility)
            return current

        pickup = next((at for at, s, _, _ in journey if s == Status.PICKED_UP), None)
        if pickup is None:
            return
        end = next((at for at, s, _, _ in journey if at > pickup and s in TERMINAL), journey[-1][0])
        logger = TemperatureLogger(f"TL-{self.rng.getrandbits(32):08X}", limits, self.rng)
        used = {e.at for e in t.emissions}
        action = ("quarantine on arrival and check the product's stability budget before use"
                  if merchant.merchant_id == "m-maple-health" else "inspect on delivery; replace if spoiled")
        for excursion in logger.excursions(pickup, end):
            before = status_at(excursion.start)
            at = _free_second(excursion.start, used)
            # Skip when the parcel is not moving (or already in an exception), or when nudging the
            # time off an occupied second would cross another event of the journey.
            if before is None or before[0] not in _ACTIVE or status_at(at) != before or at >= end:
                continue
            used.add(at)
            _, place, facility = before
            t.ship(Status.EXCEPTION, "temperature_excursion", place, facility, by="merchant", at=at,
                   exception=_exception(f"{excursion.reason(limits)} [{logger.logger_id}]", "carrier", action))
            if excursion.end is None:
                continue
            after = status_at(excursion.end)
            back_at = _free_second(excursion.end, used)
            if after is None or after[0] not in _ACTIVE or status_at(back_at) != after or back_at >= end:
                continue
            used.add(back_at)
            t.ship(after[0], "temperature_recovered", after[1], after[2], by="merchant", at=back_at)
        # Inserted events went to the end of the lists: restore time order.
        t.timeline.sort(key=lambda row: row[0])
        t.emissions.sort(key=lambda e: e.at)


def _free_second(at: datetime, used: set[datetime]) -> datetime:
    at = at.replace(microsecond=0)
    while at in used:
        at += timedelta(seconds=1)
    return at
