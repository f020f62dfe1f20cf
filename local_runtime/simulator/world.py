"""The simulated world: merchants, warehouses and their SKUs, carriers, places, hubs and routes.

Everything here is static data plus pure functions of a random generator, so a seed fixes every
choice made from it. The merchant list is public API: the local runtime seeds ``MerchantsTable`` and
API keys from :func:`merchant_records`, and the simulator's events carry the same merchant ids.

Geographies follow :func:`logistics.domain.geography.geography` (EU, NA, APAC); every place carries
an IANA time zone so events can state ``occurred_at`` with the local UTC offset of where they happened.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from logistics.domain.geography import geography

# --------------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A city with what an event's ``location`` needs, plus its time zone for local offsets."""

    city: str
    region: str
    country: str  # ISO 3166-1 alpha-2
    lat: float
    lon: float
    tz: str  # IANA zone: occurred_at carries this zone's offset at that instant
    code: str  # short code used in facility ids

    @property
    def geo(self) -> str:
        return geography(self.country)

    def location(self, facility_id: str | None = None) -> dict[str, Any]:
        """The contract's ``location`` object (schema: city, region, country, lat, lon, facility_id)."""
        return {
            "city": self.city,
            "region": self.region,
            "country": self.country,
            "lat": self.lat,
            "lon": self.lon,
            "facility_id": facility_id,
        }


def _p(city: str, region: str, country: str, lat: float, lon: float, tz: str, code: str) -> Place:
    return Place(city, region, country, lat, lon, tz, code)


# Customer destinations per geography. Zones are deliberately varied: half-hour offsets (Adelaide,
# Mumbai), no DST (Phoenix, Brisbane), southern-hemisphere DST (Sydney, Auckland).
CITIES: dict[str, tuple[Place, ...]] = {
    "EU": (
        _p("Berlin", "Berlin", "DE", 52.52, 13.405, "Europe/Berlin", "BER"),
        _p("Munich", "Bavaria", "DE", 48.137, 11.575, "Europe/Berlin", "MUC"),
        _p("Hamburg", "Hamburg", "DE", 53.551, 9.994, "Europe/Berlin", "HAM"),
        _p("Paris", "Île-de-France", "FR", 48.857, 2.352, "Europe/Paris", "PAR"),
        _p("Lyon", "Auvergne-Rhône-Alpes", "FR", 45.764, 4.836, "Europe/Paris", "LYS"),
        _p("Amsterdam", "North Holland", "NL", 52.37, 4.895, "Europe/Amsterdam", "AMS"),
        _p("Rotterdam", "South Holland", "NL", 51.924, 4.478, "Europe/Amsterdam", "RTM"),
        _p("Madrid", "Community of Madrid", "ES", 40.417, -3.704, "Europe/Madrid", "MAD"),
        _p("Barcelona", "Catalonia", "ES", 41.385, 2.173, "Europe/Madrid", "BCN"),
        _p("Milan", "Lombardy", "IT", 45.464, 9.19, "Europe/Rome", "MIL"),
        _p("Warsaw", "Masovia", "PL", 52.23, 21.012, "Europe/Warsaw", "WAW"),
        _p("Stockholm", "Stockholm", "SE", 59.329, 18.069, "Europe/Stockholm", "STO"),
        _p("Dublin", "Leinster", "IE", 53.35, -6.26, "Europe/Dublin", "DUB"),
        _p("Lisbon", "Lisbon", "PT", 38.722, -9.139, "Europe/Lisbon", "LIS"),
        _p("London", "England", "GB", 51.507, -0.128, "Europe/London", "LON"),
        _p("Manchester", "England", "GB", 53.481, -2.243, "Europe/London", "MAN"),
        _p("Zürich", "Zürich", "CH", 47.377, 8.541, "Europe/Zurich", "ZRH"),
    ),
    "NA": (
        _p("New York", "NY", "US", 40.713, -74.006, "America/New_York", "NYC"),
        _p("Boston", "MA", "US", 42.36, -71.059, "America/New_York", "BOS"),
        _p("Chicago", "IL", "US", 41.878, -87.63, "America/Chicago", "CHI"),
        _p("Austin", "TX", "US", 30.267, -97.743, "America/Chicago", "AUS"),
        _p("Denver", "CO", "US", 39.739, -104.99, "America/Denver", "DEN"),
        _p("Phoenix", "AZ", "US", 33.448, -112.074, "America/Phoenix", "PHX"),
        _p("Seattle", "WA", "US", 47.606, -122.332, "America/Los_Angeles", "SEA"),
        _p("Los Angeles", "CA", "US", 34.052, -118.244, "America/Los_Angeles", "LAX"),
        _p("Toronto", "ON", "CA", 43.653, -79.383, "America/Toronto", "YTO"),
        _p("Montreal", "QC", "CA", 45.502, -73.567, "America/Toronto", "YMQ"),
        _p("Vancouver", "BC", "CA", 49.283, -123.121, "America/Vancouver", "YVR"),
        _p("Mexico City", "CDMX", "MX", 19.433, -99.133, "America/Mexico_City", "MEX"),
    ),
    "APAC": (
        _p("Singapore", "Singapore", "SG", 1.352, 103.82, "Asia/Singapore", "SIN"),
        _p("Sydney", "NSW", "AU", -33.869, 151.209, "Australia/Sydney", "SYD"),
        _p("Melbourne", "VIC", "AU", -37.814, 144.963, "Australia/Melbourne", "MEL"),
        _p("Brisbane", "QLD", "AU", -27.47, 153.026, "Australia/Brisbane", "BNE"),
        _p("Adelaide", "SA", "AU", -34.929, 138.601, "Australia/Adelaide", "ADL"),
        _p("Tokyo", "Tokyo", "JP", 35.676, 139.65, "Asia/Tokyo", "TYO"),
        _p("Osaka", "Osaka", "JP", 34.694, 135.502, "Asia/Tokyo", "OSA"),
        _p("Seoul", "Seoul", "KR", 37.567, 126.978, "Asia/Seoul", "SEL"),
        _p("Hong Kong", "Hong Kong", "HK", 22.319, 114.169, "Asia/Hong_Kong", "HKG"),
        _p("Auckland", "Auckland", "NZ", -36.848, 174.763, "Pacific/Auckland", "AKL"),
        _p("Mumbai", "Maharashtra", "IN", 19.076, 72.878, "Asia/Kolkata", "BOM"),
    ),
}
GEOGRAPHIES: tuple[str, ...] = tuple(CITIES)

LOCALES: dict[str, tuple[str, ...]] = {
    "DE": ("de-DE",), "FR": ("fr-FR",), "NL": ("nl-NL", "en-GB"), "ES": ("es-ES",), "IT": ("it-IT",),
    "PL": ("pl-PL",), "SE": ("sv-SE", "en-GB"), "IE": ("en-IE",), "PT": ("pt-PT",), "GB": ("en-GB",),
    "CH": ("de-CH", "fr-CH"), "US": ("en-US", "es-US"), "CA": ("en-CA", "fr-CA"), "MX": ("es-MX",),
    "SG": ("en-SG", "zh-SG"), "AU": ("en-AU",), "JP": ("ja-JP",), "KR": ("ko-KR",), "HK": ("zh-HK", "en-HK"),
    "NZ": ("en-NZ",), "IN": ("en-IN", "hi-IN"),
}

# EU member states form one customs union; everyone else clears customs at their own border. GB and
# CH are in geography "EU" but outside the union, so Amsterdam -> London is a cross-border route.
_EU_CUSTOMS_UNION = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)


def customs_zone(country: str) -> str:
    """The customs territory of a country: ``EU`` for the union, else the country itself."""
    return "EU" if country in _EU_CUSTOMS_UNION else country


# --------------------------------------------------------------------------------------------------
# Carrier network: hubs and gateways
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facility:
    """A carrier facility: sortation hub, international gateway (airport) or delivery station."""

    facility_id: str
    place: Place
    kind: str  # "hub" | "gateway" | "station" | "pickup_point"


def _hub(fid: str, place: Place, kind: str = "hub") -> Facility:
    return Facility(fid, place, kind)


HUBS: dict[str, tuple[Facility, ...]] = {
    "EU": (
        _hub("HUB-LEJ", _p("Schkeuditz", "Saxony", "DE", 51.423, 12.236, "Europe/Berlin", "LEJ"), "gateway"),
        _hub("HUB-CGN", _p("Cologne", "North Rhine-Westphalia", "DE", 50.938, 6.96, "Europe/Berlin", "CGN")),
        _hub("HUB-AMS", _p("Haarlemmermeer", "North Holland", "NL", 52.303, 4.69, "Europe/Amsterdam", "HMM"),
             "gateway"),
        _hub("HUB-CDG", _p("Roissy-en-France", "Île-de-France", "FR", 49.004, 2.516, "Europe/Paris", "CDG"),
             "gateway"),
        _hub("HUB-MAD", _p("Coslada", "Community of Madrid", "ES", 40.426, -3.561, "Europe/Madrid", "CSL")),
        _hub("HUB-EMA", _p("Castle Donington", "England", "GB", 52.831, -1.328, "Europe/London", "EMA"), "gateway"),
        _hub("HUB-WAW", _p("Pruszków", "Masovia", "PL", 52.171, 20.812, "Europe/Warsaw", "PRU")),
    ),
    "NA": (
        _hub("HUB-SDF", _p("Louisville", "KY", "US", 38.174, -85.736, "America/Kentucky/Louisville", "SDF"),
             "gateway"),
        _hub("HUB-MEM", _p("Memphis", "TN", "US", 35.042, -89.977, "America/Chicago", "MEM"), "gateway"),
        _hub("HUB-EWR", _p("Newark", "NJ", "US", 40.69, -74.174, "America/New_York", "EWR"), "gateway"),
        _hub("HUB-ONT", _p("Ontario", "CA", "US", 34.056, -117.601, "America/Los_Angeles", "ONT")),
        _hub("HUB-DFW", _p("Fort Worth", "TX", "US", 32.755, -97.331, "America/Chicago", "DFW")),
        _hub("HUB-YYZ", _p("Mississauga", "ON", "CA", 43.589, -79.644, "America/Toronto", "YYZ"), "gateway"),
        _hub("HUB-MEX", _p("Mexico City", "CDMX", "MX", 19.436, -99.072, "America/Mexico_City", "MEX"), "gateway"),
    ),
    "APAC": (
        _hub("HUB-SIN", _p("Changi", "Singapore", "SG", 1.364, 103.991, "Asia/Singapore", "SIN"), "gateway"),
        _hub("HUB-HKG", _p("Chek Lap Kok", "Hong Kong", "HK", 22.308, 113.918, "Asia/Hong_Kong", "HKG"), "gateway"),
        _hub("HUB-NRT", _p("Narita", "Chiba", "JP", 35.772, 140.393, "Asia/Tokyo", "NRT"), "gateway"),
        _hub("HUB-SYD", _p("Mascot", "NSW", "AU", -33.94, 151.175, "Australia/Sydney", "SYD"), "gateway"),
        _hub("HUB-ICN", _p("Incheon", "Incheon", "KR", 37.46, 126.44, "Asia/Seoul", "ICN")),
        _hub("HUB-AKL", _p("Māngere", "Auckland", "NZ", -37.008, 174.785, "Pacific/Auckland", "AKL")),
    ),
}


# --------------------------------------------------------------------------------------------------
# SKUs, warehouses, carriers, merchants
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TempRange:
    """Cold-chain range a parcel must stay within (°C)."""

    low_c: float
    high_c: float

    @property
    def label(self) -> str:
        return f"{self.low_c:g} to {self.high_c:g} °C"


CHILLED = TempRange(2.0, 8.0)  # pharma: vaccines, insulin
FRESH = TempRange(0.0, 4.0)  # chilled food
FROZEN = TempRange(-25.0, -15.0)


@dataclass(frozen=True)
class Sku:
    sku: str
    name: str
    weight_kg: float
    dims_cm: tuple[float, float, float]
    cold: TempRange | None = None


@dataclass(frozen=True)
class Warehouse:
    warehouse_id: str
    name: str
    place: Place
    cold_room: bool = False
    scanners: int = 6  # scan guns on the floor; actor ids SCN-<code>-NN

    @property
    def geo(self) -> str:
        return self.place.geo

    def location(self) -> dict[str, Any]:
        return self.place.location(self.warehouse_id)


WAREHOUSES: dict[str, Warehouse] = {
    w.warehouse_id: w
    for w in (
        Warehouse("WH-LEJ1", "Leipzig Fulfilment Centre",
                  _p("Leipzig", "Saxony", "DE", 51.34, 12.375, "Europe/Berlin", "LEJ"), cold_room=True),
        Warehouse("WH-AMS1", "Amsterdam Schiphol Logistics Park",
                  _p("Haarlemmermeer", "North Holland", "NL", 52.29, 4.73, "Europe/Amsterdam", "AMS"), cold_room=True),
        Warehouse("WH-EMA1", "East Midlands Gateway DC",
                  _p("Kegworth", "England", "GB", 52.834, -1.28, "Europe/London", "EMA")),
        Warehouse("WH-EWR1", "Edison NJ Fulfillment Center",
                  _p("Edison", "NJ", "US", 40.519, -74.412, "America/New_York", "EWR"), cold_room=True),
        Warehouse("WH-RNO1", "Reno Tahoe Distribution Center",
                  _p("Sparks", "NV", "US", 39.534, -119.753, "America/Los_Angeles", "RNO")),
        Warehouse("WH-YYZ1", "Mississauga Cold-Chain DC",
                  _p("Mississauga", "ON", "CA", 43.589, -79.644, "America/Toronto", "YYZ"), cold_room=True),
        Warehouse("WH-SIN1", "Singapore Tuas Logistics Hub",
                  _p("Tuas", "Singapore", "SG", 1.32, 103.65, "Asia/Singapore", "SIN")),
        Warehouse("WH-SYD1", "Sydney Eastern Creek DC",
                  _p("Eastern Creek", "NSW", "AU", -33.8, 150.85, "Australia/Sydney", "SYD")),
        Warehouse("WH-NRT1", "Chiba Narita Fulfilment Center",
                  _p("Narita", "Chiba", "JP", 35.776, 140.318, "Asia/Tokyo", "NRT")),
    )
}


@dataclass(frozen=True)
class Carrier:
    """A carrier. ``countries`` is where it delivers domestically; international carriers go anywhere."""

    code: str
    name: str
    countries: frozenset[str]
    tracking_format: str  # '#' digit, '@' letter, '*' letter or digit, anything else literal
    schema_version: int = 1  # which shipment-event schema its feed speaks
    international: bool = False

    def tracking_number(self, rng: random.Random) -> str:
        out = []
        for ch in self.tracking_format:
            if ch == "#":
                out.append(rng.choice("0123456789"))
            elif ch == "@":
                out.append(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ"))
            elif ch == "*":
                out.append(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"))
            else:
                out.append(ch)
        return "".join(out)


def _c(code: str, name: str, countries: str, fmt: str, version: int = 1, intl: bool = False) -> Carrier:
    return Carrier(code, name, frozenset(countries.split()), fmt, version, intl)


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        # EU
        _c("DHL_PARCEL", "DHL Parcel", "DE AT NL PL", "JJD00############"),
        _c("DPD", "DPD", "DE FR NL ES IT PL IE PT AT BE", "##############", 2),
        _c("POSTNL", "PostNL", "NL BE", "3S@@@@#########"),
        _c("COLISSIMO", "Colissimo", "FR", "6A###########"),
        _c("ROYAL_MAIL", "Royal Mail", "GB", "@@#########GB"),
        _c("POSTNORD", "PostNord", "SE DK FI", "00###############"),
        # NA
        _c("UPS", "UPS", "US CA", "1Z******##########", 2),
        _c("FEDEX", "FedEx Ground", "US CA", "############", 2),
        _c("USPS", "USPS", "US", "9400##################"),
        _c("CANADA_POST", "Canada Post", "CA", "################"),
        _c("ESTAFETA", "Estafeta", "MX", "##########"),
        # APAC
        _c("SINGPOST", "SingPost", "SG", "SG@@#########"),
        _c("AUSPOST", "Australia Post", "AU", "@@@#########AU", 2),
        _c("YAMATO", "Yamato Transport", "JP", "############"),
        _c("SF_EXPRESS", "SF Express", "HK KR", "SF#############", 2),
        _c("NZ_POST", "NZ Post", "NZ", "@@#########NZ"),
        _c("BLUEDART", "Blue Dart", "IN", "###########"),
        # international express: any origin, any destination, customs brokerage included
        _c("DHL_EXPRESS", "DHL Express", "", "##########", 2, True),
        _c("FEDEX_INTL", "FedEx International Priority", "", "7###########", 2, True),
        _c("UPS_WW", "UPS Worldwide Express", "", "1Z******66########", 2, True),
    )
}
INTERNATIONAL_CARRIERS: tuple[str, ...] = tuple(c.code for c in CARRIERS.values() if c.international)
# Regional carriers that cross borders inside a geography (without being express integrators).
REGIONAL_CARRIERS: dict[str, tuple[str, ...]] = {"EU": ("DPD",), "NA": ("UPS", "FEDEX"), "APAC": ("SF_EXPRESS",)}


@dataclass(frozen=True)
class Merchant:
    """A merchant (a tenant of the platform).

    ``webhook_secret_seed`` is a stable string the local runtime turns into the webhook secret and API
    key it stores for this merchant (see :meth:`webhook_secret`, :meth:`api_key`); local use only.
    """

    merchant_id: str
    name: str
    code: str  # short code: order refs, contact refs
    home_geo: str
    warehouses: tuple[str, ...]  # preferred first within each geography
    ship_to: Mapping[str, float]  # destination geography -> weight
    skus: tuple[Sku, ...]
    schema_version: int  # shipment-event version of the merchant's own events
    webhook_secret_seed: str
    domestic_only: bool = False  # chilled food does not fly: ship only within the warehouse's geography
    return_rate: float = 0.05  # share of delivered orders the customer sends back
    signature_required: bool = False  # e.g. prescription medicines: delivered means signed for
    service_levels: Mapping[str, float] = field(default_factory=lambda: {"standard": 0.7, "express": 0.2,
                                                                          "economy": 0.1})

    def webhook_secret(self) -> str:
        """Deterministic webhook signing secret for local runs."""
        return "whsec_" + hashlib.sha256(f"webhook:{self.webhook_secret_seed}".encode()).hexdigest()[:40]

    def api_key(self) -> str:
        """Deterministic dashboard/API key for local runs (store only its hash)."""
        return "lk_test_" + hashlib.sha256(f"api:{self.webhook_secret_seed}".encode()).hexdigest()[:40]

    def warehouses_in(self, geo: str) -> list[Warehouse]:
        return [WAREHOUSES[w] for w in self.warehouses if WAREHOUSES[w].geo == geo]

    @property
    def cold_skus(self) -> tuple[Sku, ...]:
        return tuple(s for s in self.skus if s.cold is not None)


def _sku(sku: str, name: str, kg: float, dims: tuple[float, float, float], cold: TempRange | None = None) -> Sku:
    return Sku(sku, name, kg, dims, cold)


MERCHANTS: tuple[Merchant, ...] = (
    Merchant(
        merchant_id="m-nordic-outfitters",
        name="Nordic Outfitters",
        code="NO",
        home_geo="EU",
        warehouses=("WH-LEJ1", "WH-AMS1", "WH-EMA1", "WH-EWR1"),
        ship_to={"EU": 0.72, "NA": 0.2, "APAC": 0.08},
        skus=(
            _sku("NO-JKT-001", "Fjell down jacket", 1.1, (45, 35, 12)),
            _sku("NO-SWT-014", "Merino crew sweater", 0.45, (35, 28, 6)),
            _sku("NO-BTS-220", "Trail boots", 1.6, (36, 24, 14)),
            _sku("NO-HAT-003", "Wool beanie", 0.1, (20, 15, 3)),
            _sku("NO-SCF-007", "Alpaca scarf", 0.2, (25, 20, 4)),
            _sku("NO-TNT-401", "Two-person tent", 2.4, (55, 20, 20)),
        ),
        schema_version=1,
        webhook_secret_seed="nordic-outfitters-local-seed",
        return_rate=0.12,  # apparel: fit returns
    ),
    Merchant(
        merchant_id="m-pacific-gadgets",
        name="Pacific Gadgets",
        code="PG",
        home_geo="APAC",
        warehouses=("WH-SIN1", "WH-SYD1", "WH-NRT1", "WH-RNO1"),
        ship_to={"APAC": 0.6, "NA": 0.25, "EU": 0.15},
        skus=(
            _sku("PG-EAR-100", "Wireless earbuds", 0.15, (12, 10, 5)),
            _sku("PG-PHN-512", "Smartphone 512 GB", 0.45, (18, 10, 6)),
            _sku("PG-WTC-042", "Smartwatch 42 mm", 0.2, (12, 12, 8)),
            _sku("PG-CAM-004", "Action camera", 0.35, (15, 12, 8)),
            _sku("PG-CHG-065", "65 W charger", 0.18, (10, 8, 4)),
            _sku("PG-DRN-MINI", "Mini drone", 0.9, (30, 25, 12)),
        ),
        schema_version=2,
        webhook_secret_seed="pacific-gadgets-local-seed",
        service_levels={"standard": 0.5, "express": 0.4, "economy": 0.1},
    ),
    Merchant(
        merchant_id="m-maple-health",
        name="Maple Health Pharmacy",
        code="MH",
        home_geo="NA",
        warehouses=("WH-YYZ1", "WH-EWR1"),
        ship_to={"NA": 0.93, "EU": 0.04, "APAC": 0.03},
        skus=(
            _sku("MH-INS-PEN", "Insulin pens (5)", 0.3, (15, 10, 8), CHILLED),
            _sku("MH-VAC-FLU", "Flu vaccine kit", 0.4, (20, 15, 10), CHILLED),
            _sku("MH-BIO-INJ", "Biologic injectable", 0.25, (15, 10, 6), CHILLED),
            _sku("MH-VIT-D3", "Vitamin D3 90 caps", 0.12, (10, 6, 6)),
            _sku("MH-BP-MON", "Blood pressure monitor", 0.8, (22, 18, 10)),
        ),
        schema_version=2,
        webhook_secret_seed="maple-health-local-seed",
        return_rate=0.01,
        signature_required=True,
        service_levels={"express": 0.7, "standard": 0.3},
    ),
    Merchant(
        merchant_id="m-freshbox",
        name="FreshBox Meal Kits",
        code="FB",
        home_geo="EU",
        warehouses=("WH-AMS1", "WH-LEJ1", "WH-EWR1"),
        ship_to={"EU": 0.55, "NA": 0.45},
        skus=(
            _sku("FB-KIT-2P", "Meal kit, 2 people", 4.5, (40, 30, 25), FRESH),
            _sku("FB-KIT-4P", "Meal kit, 4 people", 7.8, (50, 40, 30), FRESH),
            _sku("FB-DES-ICE", "Ice cream dessert box", 1.5, (25, 20, 15), FROZEN),
            _sku("FB-SPC-SET", "Spice set", 0.3, (15, 10, 5)),
        ),
        schema_version=1,
        webhook_secret_seed="freshbox-local-seed",
        domestic_only=True,
        return_rate=0.0,  # food is not returned
        service_levels={"express": 0.8, "same_day": 0.2},
    ),
)
MERCHANTS_BY_ID: dict[str, Merchant] = {m.merchant_id: m for m in MERCHANTS}


def merchant_records() -> list[dict[str, Any]]:
    """The merchants as plain records, for seeding ``MerchantsTable`` and API keys locally."""
    return [
        {
            "merchant_id": m.merchant_id,
            "name": m.name,
            "home_geo": m.home_geo,
            "webhook_secret_seed": m.webhook_secret_seed,
            "webhook_secret": m.webhook_secret(),
            "api_key": m.api_key(),
            "warehouses": list(m.warehouses),
        }
        for m in MERCHANTS
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


def weighted(rng: random.Random, choices: Sequence[tuple[Any, float]] | Mapping[Any, float]) -> Any:
    """One weighted choice; deterministic for a given generator state (insertion order matters)."""
    items = list(choices.items()) if isinstance(choices, Mapping) else list(choices)
    total = sum(w for _, w in items)
    roll = rng.random() * total
    for value, w in items:
        roll -= w
        if roll < 0:
            return value
    return items[-1][0]


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


# --------------------------------------------------------------------------------------------------
# Time, ids and the unit of output
# --------------------------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_iso(at: datetime, tz: str) -> str:
    """``at`` as ISO 8601 in the local time of ``tz``, with that zone's UTC offset at that instant.

    Whole seconds unless ``at`` has a fractional part (device ticks use .500 to never tie with scans).
    """
    local = at.astimezone(zone(tz))
    return local.isoformat(timespec="milliseconds" if at.microsecond else "seconds")


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the epoch (simulated instants are whole milliseconds, so the float is exact)."""
    return round(at.timestamp() * 1000)


# Crockford base32 (no I, L, O, U), two characters (10 bits) per step: ids keep numeric order as text.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)


def _base32(value: int, length: int) -> str:
    """The low ``5 * length`` bits of ``value`` as ``length`` Crockford characters (``length`` even)."""
    chunks = []
    for _ in range(length // 2):
        chunks.append(_PAIRS[value & 1023])
        value >>= 10
    return "".join(reversed(chunks))


class Ids:
    """Identifiers drawn from a seeded generator, so a seed fixes them (never ``uuid4``)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def event_id(self, at: datetime) -> str:
        """ULID-style: 48-bit time then 80 random bits, so ids sort roughly by occurrence."""
        value = (max(epoch_ms(at), 0) << 80) | self.rng.getrandbits(80)
        return "evt-" + _base32(value, 26)

    def shipment_id(self, prefix: str = "SHP") -> str:
        return f"{prefix}-{_base32(self.rng.getrandbits(60), 12)}"

    def order_ref(self, merchant: Merchant) -> str:
        return f"{merchant.code}-{self.rng.randrange(10**7, 10**8)}"

    def trace_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"


SHIPMENT = "shipment"
WAREHOUSE = "warehouse"


@dataclass(frozen=True)
class Emission:
    """One valid event the world produces: when it happened (UTC), which topic kind, its key, its payload."""

    at: datetime
    kind: str  # SHIPMENT | WAREHOUSE
    key: str  # shipment id or warehouse id: the Kafka key
    payload: dict[str, Any] = field(compare=False)
