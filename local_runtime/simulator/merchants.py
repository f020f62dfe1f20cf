"""Merchants of the simulated world (the platform's tenants), their SKUs and cold-chain ranges.

The merchant list is public API: the local runtime seeds ``MerchantsTable`` and API keys from
:func:`merchant_records`, and the simulator's events carry the same merchant ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local_runtime.simulator.places import WAREHOUSES, Warehouse


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
