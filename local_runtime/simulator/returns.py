"""Parcels going back: returns to sender (back through the facilities passed) and customer returns.

A customer return is a separate shipment, from the customer's city to the origin warehouse.
"""

from __future__ import annotations

from datetime import timedelta

from local_runtime.simulator.merchants import Merchant, Sku
from local_runtime.simulator.places import Facility, customs_zone
from local_runtime.simulator.track import ShipmentTrack
from local_runtime.simulator.world import Customer, Route
from logistics.domain.status import Status


def return_to_sender(t: ShipmentTrack, route: Route, lines: list[tuple[Sku, int]],
                     path: list[Facility]) -> None:
    """RETURNING back through the facilities passed so far to the origin warehouse, then return_received."""
    origin = route.origin
    home_zone = customs_zone(origin.place.country)
    for facility in reversed(path[:-1]):  # the parcel is at path[-1] already
        # Back into the origin's customs zone at the first leg: released from import customs there.
        customs = (route.cross_border and customs_zone(facility.place.country) == home_zone
                   and facility == route.legs[0])
        t.pass_through(Status.RETURNING, facility, (4, 30), customs=customs)
    t.hours(2, 10)
    t.within(origin.place, 7, 20)
    t.ship(Status.RETURNED, "returned_to_sender", origin.place, origin.warehouse_id)
    t.minutes(30, 300)
    t.within(origin.place, 7, 21)
    t.scan(origin, "return_received", [(s.sku, q) for s, q in lines], zone="RETURNS",
           bin=f"RET-{t.rng.randint(1, 20):02d}")


def customer_return(main: ShipmentTrack, route: Route, lines: list[tuple[Sku, int]], merchant: Merchant,
                    customer: Customer) -> ShipmentTrack:
    """A delivered order sent back: a new shipment from the customer's city to the origin warehouse."""
    rng = main.rng
    dest, origin = route.destination, route.origin
    start = main.t + timedelta(days=rng.uniform(1, 14))
    back = ShipmentTrack(main.planner, merchant, main.planner.ids.shipment_id("RTN"), main.order_ref,
                         route.carrier, customer, start)
    back.within(dest, 9, 21)
    back.tracking_number = back.carrier.tracking_number(rng)
    back.ship(Status.CREATED, "return_label_created", dest, by="merchant", customer=True)
    back.hours(12, 72)
    back.within(dest, 9, 19)
    pudo = f"PUDO-{dest.code}{rng.randint(10, 99)}"
    back.ship(Status.PICKED_UP, "dropped_off_at_pickup_point", dest, pudo)
    for facility in (route.station, *reversed(route.legs)):
        back.pass_through(Status.IN_TRANSIT, facility, (3, 30))
    back.hours(2, 12)
    back.within(origin.place, 7, 21)
    returned = [(s.sku, q) for s, q in lines[: rng.randint(1, len(lines))]]  # may keep part of the order
    back.scan(origin, "return_received", returned, zone="RETURNS", bin=f"RET-{rng.randint(1, 20):02d}")
    return back
