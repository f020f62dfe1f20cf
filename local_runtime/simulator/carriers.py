"""Carriers of the simulated world: where they deliver, their tracking numbers and feed versions.

Static data plus :meth:`Carrier.tracking_number`, a pure function of a random generator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


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
