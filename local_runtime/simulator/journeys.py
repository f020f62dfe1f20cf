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

This module plans a journey and runs its warehouse phase; the event builders are in :mod:`.track`,
the later phases in :mod:`.line_haul`, :mod:`.last_mile`, :mod:`.returns` and :mod:`.cold_chain`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from local_runtime.simulator.cold_chain import temperature
from local_runtime.simulator.devices import ScanGuns, slot
from local_runtime.simulator.emission import Emission, Ids
from local_runtime.simulator.last_mile import last_mile
from local_runtime.simulator.line_haul import line_haul
from local_runtime.simulator.merchants import Merchant, Sku, TempRange
from local_runtime.simulator.places import CITIES, Warehouse
from local_runtime.simulator.returns import customer_return, return_to_sender
from local_runtime.simulator.track import ShipmentTrack, eta_of, exception_of
from local_runtime.simulator.world import Route, World, weighted
from logistics.domain.status import Status

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
        track = ShipmentTrack(self, merchant, shipment_id, self.ids.order_ref(merchant), route.carrier, customer, start)
        extras = {"service_level": service, "parcel": self._parcel(lines)}
        planned = start + timedelta(days=0.4 if service == "same_day" else 1.0) + route.transit
        eta = eta_of(planned, dest)

        scenarios = {shipment_id: scenario}
        emissions: list[Emission] = []
        if self._warehouse_phase(track, scenario, origin, lines, eta, extras):
            outcome = line_haul(track, scenario, route, eta)
            if outcome == "arrived":
                outcome = last_mile(track, scenario, route, merchant)
            if outcome == "returning":
                return_to_sender(track, route, lines, track.path)
            if cold is not None:
                temperature(track, cold, merchant)
            if outcome == "delivered" and rng.random() < merchant.return_rate:
                back = customer_return(track, route, lines, merchant, customer)
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

    def _warehouse_phase(self, t: ShipmentTrack, scenario: str, origin: Warehouse, lines: list[tuple[Sku, int]],
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
                   exception=exception_of(reason, "merchant", action))
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

