"""Broad geographies used to slice shipments per merchant (EU, NA, APAC, ...)."""

from __future__ import annotations

_GEOGRAPHIES: dict[str, frozenset[str]] = {
    "EU": frozenset(
        "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE "
        "GB NO CH IS LI UA RS BA ME MK AL MD".split()
    ),
    "NA": frozenset("US CA MX".split()),
    "LATAM": frozenset("AR BO BR CL CO CR CU DO EC GT HN NI PA PE PY SV UY VE".split()),
    "APAC": frozenset("AU CN HK ID IN JP KR MY NZ PH SG TH TW VN BD PK LK".split()),
    "MEA": frozenset("AE SA QA KW BH OM IL TR EG MA TN ZA NG KE GH ET".split()),
}
_BY_COUNTRY = {country: geo for geo, countries in _GEOGRAPHIES.items() for country in countries}


def geography(country: str) -> str:
    """The geography of an ISO 3166-1 alpha-2 country code; ``OTHER`` when unlisted."""
    return _BY_COUNTRY.get(country.upper(), "OTHER")
