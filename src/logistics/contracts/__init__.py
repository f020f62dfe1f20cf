"""Event contracts: versioned JSON Schemas (``schemas/``) and their conversion to domain events.

The schema files are the single source of truth: the ingest function validates with them and the
broker's schema registry can be given the same files.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from logistics.domain.events import ShipmentEvent, StockLine, WarehouseEvent, to_utc
from logistics.domain.status import Status

SHIPMENT = "shipment"
WAREHOUSE = "warehouse"
WAREHOUSE_EVENT_TYPES = frozenset(
    {"received", "putaway", "picked", "packed", "staged", "loaded", "dispatched", "adjusted",
     "cycle_counted", "return_received"}
)
SHIPMENT_EVENT_TYPES = frozenset({"tracking_update", "correction"})


class ContractError(ValueError):
    """An event that breaks its contract; the message says what and where."""


@cache
def schema(kind: str, version: int) -> dict[str, Any]:
    """The JSON Schema of ``kind`` (shipment | warehouse) at ``version``."""
    name = f"{kind}-event.v{version}.json"
    try:
        text = resources.files("logistics.contracts").joinpath("schemas", name).read_text()
    except FileNotFoundError as exc:
        raise ContractError(f"unknown schema_version {version} for {kind} events") from exc
    return json.loads(text)


def versions(kind: str) -> list[int]:
    """Schema versions available for ``kind``, oldest first."""
    folder = resources.files("logistics.contracts").joinpath("schemas")
    prefix = f"{kind}-event.v"
    return sorted(int(p.name[len(prefix):-5]) for p in folder.iterdir() if p.name.startswith(prefix))


@cache
def _validator(kind: str, version: int) -> Draft202012Validator:
    return Draft202012Validator(schema(kind, version))


def kind_of(payload: dict[str, Any]) -> str:
    """Which contract a payload claims to follow, from its ``event_type``."""
    event_type = payload.get("event_type")
    if not isinstance(event_type, str):  # a list or an object would not even hash
        raise ContractError(f"unknown event_type {event_type!r}")
    if event_type in WAREHOUSE_EVENT_TYPES:
        return WAREHOUSE
    if event_type in SHIPMENT_EVENT_TYPES:
        return SHIPMENT
    raise ContractError(f"unknown event_type {event_type!r}")


def validate(payload: Any) -> str:
    """Validate a decoded JSON payload against its contract; returns its kind or raises ContractError."""
    if not isinstance(payload, dict):
        raise ContractError(f"event must be a JSON object, got {type(payload).__name__}")
    kind = kind_of(payload)
    version = payload.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ContractError(f"schema_version must be an integer, got {version!r}")
    errors = sorted(_validator(kind, version).iter_errors(payload), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ContractError(f"{kind} event v{version} invalid at {where}: {first.message}{more}")
    try:
        to_utc(payload["occurred_at"])
    except ValueError as exc:
        raise ContractError(f"occurred_at: {exc}") from exc
    return kind


def to_domain(payload: dict[str, Any]) -> ShipmentEvent | WarehouseEvent:
    """Validate and convert a payload of any supported schema version to its domain event."""
    kind = validate(payload)
    if kind == WAREHOUSE:
        return WarehouseEvent(
            event_id=payload["event_id"],
            merchant_id=payload["merchant_id"],
            warehouse_id=payload["warehouse_id"],
            event_type=payload["event_type"],
            occurred_at=payload["occurred_at"],
            items=tuple(StockLine(i["sku"], i["qty"]) for i in payload.get("items") or ()),
            zone=payload.get("zone"),
            bin=payload.get("bin"),
            shipment_id=payload.get("shipment_id"),
            order_ref=payload.get("order_ref"),
            actor=payload.get("actor"),
            location=payload.get("location"),
        )
    known = set(ShipmentEvent.__dataclass_fields__) - {"extra", "warehouse_id", "source_event_type", "status"}
    return ShipmentEvent(
        **{k: payload[k] for k in known if k in payload},
        status=Status(payload["status"]),
        # Fields newer versions add (parcel, service_level) ride along without changing the fold.
        extra={k: v for k, v in payload.items() if k not in known and k not in ("status", "schema_version")},
    )
