"""The simulated world: the static data plus choices made from a seeded generator (customers, routes).

Everything here is static data plus pure functions of a random generator, so a seed fixes every
choice made from it. The static data lives in :mod:`.places` (cities, hubs, warehouses),
:mod:`.carriers` and :mod:`.merchants`; time helpers, ids and :class:`Emission` in :mod:`.emission`.
This module re-exports them, so ``local_runtime.simulator.world`` stays the one import path.
The merchant list is public API: the local runtime seeds ``MerchantsTable`` and API keys from
:func:`merchant_records`, and the simulator's events carry the same merchant ids.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from local_runtime.simulator.carriers import CARRIERS, INTERNATIONAL_CARRIERS, REGIONAL_CARRIERS, Carrier
from local_runtime.simulator.emission import EPOCH, SHIPMENT, WAREHOUSE, Emission, Ids, epoch_ms, local_iso, zone
from local_runtime.simulator.merchants import (
    CHILLED,
    FRESH,
    FROZEN,
    MERCHANTS,
    MERCHANTS_BY_ID,
    Merchant,
    Sku,
    TempRange,
    merchant_records,
)
from local_runtime.simulator.places import (
    CITIES,
    GEOGRAPHIES,
    HUBS,
    LOCALES,
    WAREHOUSES,
    Facility,
    Place,
    Warehouse,
    customs_zone,
)
from local_runtime.simulator.sampling import weighted

__all__ = [
    "CARRIERS",
    "CHILLED",
    "CITIES",
    "EPOCH",
    "FRESH",
    "FROZEN",
    "GEOGRAPHIES",
    "HUBS",
    "INTERNATIONAL_CARRIERS",
    "LOCALES",
    "MERCHANTS",
    "MERCHANTS_BY_ID",
    "REGIONAL_CARRIERS",
    "SHIPMENT",
    "WAREHOUSE",
    "WAREHOUSES",
    "Carrier",
    "Customer",
    "Emission",
    "Facility",
    "Ids",
    "Merchant",
    "Place",
    "Route",
    "Sku",
    "TempRange",
    "Warehouse",
    "World",
    "customs_zone",
    "epoch_ms",
    "local_iso",
    "merchant_records",
    "weighted",
    "zone",
]


# --------------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    """A customer as the platform may see them: a contact reference and preferences, never PII."""

    contact_ref: str
    place: Place
    channels: tuple[str, ...]  # empty: opted out of notifications
    quiet_hours: tuple[str, str] | None
    locale: str

    def as_contract(self) -> dict[str, Any]:
        return {
            "contact_ref": self.contact_ref,
            "channels": list(self.channels),
            "timezone": self.place.tz,
            "quiet_hours": {"start": self.quiet_hours[0], "end": self.quiet_hours[1]} if self.quiet_hours else None,
            "locale": self.locale,
        }


_CHANNEL_CHOICES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("email",), 0.38),
    (("email", "sms"), 0.22),
    (("email", "push"), 0.1),
    (("sms",), 0.06),
    (("push",), 0.04),
    (("email", "sms", "push"), 0.05),
    ((), 0.15),  # opted out of every channel
)
_QUIET_HOURS: tuple[tuple[tuple[str, str] | None, float], ...] = (
    (("22:00", "07:00"), 0.45),
    (("21:00", "08:00"), 0.15),
    (("23:00", "06:30"), 0.1),
    (None, 0.3),
)


# --------------------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """How a parcel travels from a warehouse to a destination city."""

    origin: Warehouse
    destination: Place
    carrier: Carrier
    legs: tuple[Facility, ...]  # facilities in order, before the delivery station
    station: Facility  # delivery station in the destination city
    transit: timedelta  # planned door-to-door transit (pickup to delivery), without delays
    cross_border: bool
    customs_at: Facility | None  # where import clearance happens (first facility in the destination zone)

    @property
    def kind(self) -> str:
        if self.origin.place.country == self.destination.country:
            return "domestic"
        if self.origin.geo == self.destination.geo:
            return "regional"
        return "international"


class World:
    """The static world plus choices made with a caller's seeded generator (customers, routes).

    Holds per-merchant customer pools, so returning customers show up; all randomness comes from the
    generator passed to each method, which keeps a seeded run reproducible.
    """

    def __init__(self) -> None:
        self.merchants = MERCHANTS
        self.warehouses = WAREHOUSES
        self.carriers = CARRIERS
        self._customers: dict[tuple[str, str], list[Customer]] = {}

    def customer(self, merchant: Merchant, place: Place, rng: random.Random) -> Customer:
        """A customer in ``place``: a returning one a third of the time, else a new one."""
        pool = self._customers.setdefault((merchant.merchant_id, place.code), [])
        if pool and rng.random() < 0.35:
            return pool[rng.randrange(len(pool))]
        channels = weighted(rng, _CHANNEL_CHOICES)
        customer = Customer(
            contact_ref=f"cust-{merchant.code.lower()}-{rng.getrandbits(40):010x}",
            place=place,
            channels=channels,
            quiet_hours=weighted(rng, _QUIET_HOURS),
            locale=rng.choice(LOCALES.get(place.country, ("en-US",))),
        )
        if len(pool) < 50:
            pool.append(customer)
        return customer

    def origin_for(self, merchant: Merchant, dest_geo: str, rng: random.Random) -> Warehouse:
        """Ship from a warehouse in the destination geography when the merchant has one, else from home."""
        local = merchant.warehouses_in(dest_geo)
        if local:
            # The first listed warehouse of a geography carries most of the volume.
            return local[0] if len(local) == 1 or rng.random() < 0.7 else rng.choice(local[1:])
        home = merchant.warehouses_in(merchant.home_geo) or [WAREHOUSES[merchant.warehouses[0]]]
        return home[0]

    def destination_geo(self, merchant: Merchant, rng: random.Random) -> str:
        geo = weighted(rng, merchant.ship_to)
        if merchant.domestic_only and not merchant.warehouses_in(geo):
            return merchant.home_geo
        return geo

    def _carrier_for(self, origin: Place, dest: Place, rng: random.Random) -> Carrier:
        if origin.geo != dest.geo:
            return CARRIERS[rng.choice(INTERNATIONAL_CARRIERS)]
        both = [c for c in CARRIERS.values() if origin.country in c.countries and dest.country in c.countries]
        if both:
            return rng.choice(both)
        regional = [CARRIERS[c] for c in REGIONAL_CARRIERS.get(origin.geo, ())
                    if dest.country in CARRIERS[c].countries or origin.country == dest.country]
        if regional and rng.random() < 0.6:
            return rng.choice(regional)
        return CARRIERS[rng.choice(INTERNATIONAL_CARRIERS)]

    @staticmethod
    def _nearest(facilities: Sequence[Facility], place: Place, *, gateway: bool = False) -> Facility:
        pool = [f for f in facilities if f.kind == "gateway"] if gateway else list(facilities)
        same_country = [f for f in pool if f.place.country == place.country]
        pool = same_country or pool
        return min(pool, key=lambda f: (f.place.lat - place.lat) ** 2 + (f.place.lon - place.lon) ** 2)

    def route(self, origin: Warehouse, dest: Place, rng: random.Random, service_level: str) -> Route:
        """Plan a route: origin hub -> (gateways) -> destination hub -> delivery station."""
        carrier = self._carrier_for(origin.place, dest, rng)
        origin_hub = self._nearest(HUBS[origin.geo], origin.place)
        dest_hub = self._nearest(HUBS[dest.geo], dest)
        legs: list[Facility] = [origin_hub]
        if origin.geo != dest.geo:
            out_gw = self._nearest(HUBS[origin.geo], origin.place, gateway=True)
            in_gw = self._nearest(HUBS[dest.geo], dest, gateway=True)
            legs += [out_gw, in_gw, dest_hub]
            base_days = (3.0, 6.0)
        elif origin.place.country != dest.country:
            legs.append(dest_hub)
            base_days = (2.0, 4.0)
        else:
            if dest_hub != origin_hub:
                legs.append(dest_hub)
            base_days = (1.0, 2.5)
        legs = [f for i, f in enumerate(legs) if i == 0 or f != legs[i - 1]]  # no facility twice in a row
        factor = {"same_day": 0.3, "express": 0.6, "standard": 1.0, "economy": 1.6}.get(service_level, 1.0)
        days = rng.uniform(*base_days) * factor
        cross_border = customs_zone(origin.place.country) != customs_zone(dest.country)
        customs_at = None
        if cross_border:
            # Import clearance happens at the first facility inside the destination's customs zone,
            # or at the delivery station when the route has none (e.g. a regional truck route).
            customs_at = next((f for f in legs if customs_zone(f.place.country) == customs_zone(dest.country)),
                              None)
        station = Facility(f"DS-{dest.code}{rng.randint(1, 4)}", dest, "station")
        if customs_at is None and cross_border:
            customs_at = station
        return Route(origin, dest, carrier, tuple(legs), station, timedelta(days=days), cross_border, customs_at)
