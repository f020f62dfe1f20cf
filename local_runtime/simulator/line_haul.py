"""The carrier's line haul: hub to hub from pickup to the delivery station, with what can go wrong.

Incidents on one leg (carrier delays, weather, damage), customs clearance on cross-border routes and
parcels that go missing. Every function advances one :class:`~.track.ShipmentTrack` and draws from
its seeded generator.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from local_runtime.simulator.places import Facility
from local_runtime.simulator.track import ShipmentTrack, exception_of
from local_runtime.simulator.world import Route
from logistics.domain.status import Status

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


def line_haul(t: ShipmentTrack, scenario: str, route: Route, eta: dict[str, Any]) -> str:
    """Hub to hub up to the delivery station: "arrived", "lost" or "returning" (damaged)."""
    rng = t.rng
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
            outcome = incident(t, scenario, facility, eta)
            if outcome is not None:
                return outcome
        if facility == route.customs_at:
            customs(t, scenario, facility)
        t.advance(hops[i] * 0.25)
        t.ship(Status.IN_TRANSIT, "departed_facility", facility.place, facility.facility_id)
        if scenario == "lost" and i == incident_leg:
            lost(t, facility)
            return "lost"
    t.advance(last_hop)
    t.ship(Status.IN_TRANSIT, "arrived_at_delivery_station", route.station.place, route.station.facility_id)
    t.path.append(route.station)
    if route.customs_at == route.station:
        customs(t, scenario, route.station)
    return "arrived"


def incident(t: ShipmentTrack, scenario: str, facility: Facility, eta: dict[str, Any]) -> str | None:
    """The scenario's trouble at ``facility`` (delay, weather, damage); "returning" when it turns back."""
    rng = t.rng
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
               exception=exception_of(rng.choice(_WEATHER[facility.place.geo]), "weather", None))
        t.hours(12, 48)
        new_eta = {**eta, "date": (datetime.fromisoformat(eta["date"]) + timedelta(days=rng.randint(1, 2)))
                   .date().isoformat()}
        t.ship(Status.IN_TRANSIT, "resumed_after_delay", *where, eta=new_eta)
    elif scenario == "damaged_in_transit":
        t.minutes(10, 240)
        t.ship(Status.EXCEPTION, "damaged", *where, exception=exception_of(
            "parcel damaged in transit", "carrier", "carrier is repackaging; merchant decides on a replacement"))
        t.hours(4, 30)
        if rng.random() < 0.5:
            t.ship(Status.IN_TRANSIT, "repackaged", *where)
        else:
            t.ship(Status.RETURNING, "damaged_return_to_sender", *where)
            return "returning"
    return None


def customs(t: ShipmentTrack, scenario: str, facility: Facility) -> None:
    """Import clearance at ``facility``: started, maybe held (``customs_hold``), released."""
    where = (facility.place, facility.facility_id)
    t.minutes(20, 180)
    t.ship(Status.IN_TRANSIT, "customs_clearance_started", *where)
    if scenario == "customs_hold":
        t.hours(2, 12)
        reason, party, action = t.rng.choice(_CUSTOMS_HOLDS)
        t.ship(Status.EXCEPTION, "customs_held", *where, exception=exception_of(reason, party, action))
        t.hours(20, 96)
    else:
        t.hours(1, 18)
    t.ship(Status.IN_TRANSIT, "customs_released", *where)


def lost(t: ShipmentTrack, facility: Facility) -> None:
    """Days without a scan after ``facility``, then the carrier declares the parcel lost."""
    silent = t.rng.randint(3, 6)
    t.hours(24 * silent, 24 * silent + 20)
    t.ship(Status.EXCEPTION, "no_scan", facility.place, facility.facility_id, exception=exception_of(
        f"no tracking scan for {silent} days", "carrier",
        "carrier trace opened; merchant may reship or refund"))
    t.hours(96, 240)
    t.ship(Status.LOST, "declared_lost", facility.place, facility.facility_id)
