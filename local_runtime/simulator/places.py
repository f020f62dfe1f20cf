"""Places of the simulated world: customer cities, carrier hubs and gateways, and the warehouses.

Geographies follow :func:`logistics.domain.geography.geography` (EU, NA, APAC); every place carries
an IANA time zone so events can state ``occurred_at`` with the local UTC offset of where they happened.
Static data only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
# Warehouses
# --------------------------------------------------------------------------------------------------


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
