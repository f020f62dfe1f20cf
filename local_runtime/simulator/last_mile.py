"""The last mile: from the delivery station to the customer's door or a pickup point.

Out-for-delivery rounds with promised windows, failed attempts, address problems, refusals, pickup
points, misdeliveries corrected, and the delivery itself. Draws from the track's seeded generator.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from local_runtime.simulator.emission import zone
from local_runtime.simulator.merchants import Merchant
from local_runtime.simulator.places import Facility
from local_runtime.simulator.track import ShipmentTrack, eta_of, exception_of
from local_runtime.simulator.world import Route
from logistics.domain.status import Status

_ADDRESS_ISSUES = (
    ("address incomplete: apartment number missing", "customer", "confirm or correct the delivery address"),
    ("address not found", "customer", "contact the carrier with a corrected address"),
    ("recipient name not on the mailbox", "customer", "confirm the recipient's name"),
)
_ATTEMPT_REASONS = ("recipient_not_home", "access_problem", "business_closed", "no_safe_place")
_DELIVERED_SUBS = ("delivered", "left_at_front_door", "delivered_to_neighbour", "signed_by_recipient",
                   "delivered_to_mailroom")


def out_for_delivery(t: ShipmentTrack, route: Route) -> tuple[int, int]:
    """Next morning's round: the OFD event with the promised window; returns the window."""
    t.minutes(30, 240)
    t.within(route.destination, 7, 10)
    start_h = t.rng.randint(8, 16)
    window = (start_h, min(start_h + t.rng.randint(2, 4), 21))
    t.ship(Status.OUT_FOR_DELIVERY, "out_for_delivery", route.station.place, route.station.facility_id,
           eta=eta_of(t.t, route.destination, window))
    return window


def at_door(t: ShipmentTrack, route: Route, window: tuple[int, int]) -> None:
    """Move the clock to the doorstep: mostly inside the promised window, sometimes outside it."""
    tz = zone(route.destination.tz)
    day = t.t.astimezone(tz).date()
    lo, hi = window if t.rng.random() < 0.88 else (max(8, window[0] - 2), min(21, window[1] + 2))
    target = datetime.combine(day, time(lo), tzinfo=tz).astimezone(UTC)
    target += timedelta(seconds=round(t.rng.uniform(0, (hi - lo) * 3600 - 60)))
    t.t = max(t.t + timedelta(minutes=10), target)


def last_mile(t: ShipmentTrack, scenario: str, route: Route, merchant: Merchant) -> str:
    """From the delivery station to a terminal outcome: "delivered", "returning"."""
    rng = t.rng
    dest = route.destination
    if rng.random() < 0.4:
        t.minutes(20, 120)
        t.ship(Status.IN_TRANSIT, "eta_updated", route.station.place, route.station.facility_id,
               eta=eta_of(t.t + timedelta(hours=14), dest))
    window = out_for_delivery(t, route)
    at_door(t, route, window)
    pudo = Facility(f"PUDO-{dest.code}{rng.randint(10, 99)}", dest, "pickup_point")
    signed = "signed_by_recipient" if merchant.signature_required else None

    if scenario == "address_exception":
        reason, party, action = rng.choice(_ADDRESS_ISSUES)
        t.ship(Status.EXCEPTION, "address_issue", dest, exception=exception_of(reason, party, action))
        t.hours(12, 48)
        t.ship(Status.IN_TRANSIT, "address_corrected", route.station.place, route.station.facility_id)
        window = out_for_delivery(t, route)
        at_door(t, route, window)
    elif scenario in ("delivered_after_attempt", "pickup_point", "return_to_sender"):
        attempts = 1 if scenario == "pickup_point" else rng.randint(1, 2)
        for n in range(attempts):
            t.ship(Status.DELIVERY_ATTEMPTED, rng.choice(_ATTEMPT_REASONS), dest,
                   eta=eta_of(t.t + timedelta(days=1), dest))
            if scenario == "delivered_after_attempt" or n + 1 < attempts:
                window = out_for_delivery(t, route)
                at_door(t, route, window)
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
        window = out_for_delivery(t, route)
        at_door(t, route, window)
    t.ship(Status.DELIVERED, signed or rng.choice(_DELIVERED_SUBS), dest)
    return "delivered"
