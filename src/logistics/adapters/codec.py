"""Conversions between domain objects, plain dicts and DynamoDB's typed attribute values."""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from logistics.adapters import index_keys
from logistics.domain.events import ShipmentEvent, StockLine, WarehouseEvent
from logistics.domain.shipment import ShipmentState
from logistics.domain.status import Status

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit (attribute names and values)


def _value_size(value: dict[str, Any]) -> int:
    (kind, inner), = value.items()
    if kind in ("S", "B"):
        return len(inner.encode("utf-8", "surrogatepass")) if kind == "S" else len(inner)
    if kind == "N":
        return len(inner.strip("-").lstrip("0").replace(".", "")) // 2 + 2
    if kind in ("M", "L"):
        members = inner.items() if kind == "M" else ((None, v) for v in inner)
        return 3 + sum(len(k.encode("utf-8", "surrogatepass")) if k else 0 for k, _ in members) + sum(
            1 + _value_size(v) for v in (inner.values() if kind == "M" else inner))
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    return 1  # BOOL, NULL


def item_size(attributes: dict[str, Any]) -> int:
    """An upper estimate of a typed item's size by DynamoDB's rules (names + values)."""
    return sum(len(name.encode("utf-8", "surrogatepass")) + _value_size(value) for name, value in attributes.items())


def _plain(value: Any) -> Any:
    """Decimals back to int/float, recursively (what the domain expects)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def to_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """A plain dict as DynamoDB attribute values; None values are left out (GSI keys must be absent)."""
    clean = json.loads(json.dumps({k: v for k, v in item.items() if v is not None}), parse_float=Decimal)
    return {k: _serializer.serialize(v) for k, v in clean.items()}


def from_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values (a stream image or GetItem result) as a plain dict."""
    return {k: _plain(_deserializer.deserialize(v)) for k, v in attributes.items()}


def event_to_json(event: ShipmentEvent | WarehouseEvent) -> str:
    """The event as compact JSON (a shallow walk: ``asdict`` deep-copies, which costs on the hot path)."""
    data = {name: getattr(event, name) for name in event.__dataclass_fields__}
    if isinstance(event, WarehouseEvent):
        data["items"] = [{"sku": line.sku, "qty": line.qty} for line in event.items]
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def event_from_json(kind: str, text: str) -> ShipmentEvent | WarehouseEvent:
    data = json.loads(text)
    if kind == "W":
        data["items"] = tuple(StockLine(**line) for line in data.get("items") or ())
        return WarehouseEvent(**data)
    data["status"] = Status(data["status"])
    return ShipmentEvent(**data)


def shipment_from_item(item: dict[str, Any]) -> ShipmentState:
    fields = set(ShipmentState.__dataclass_fields__)
    data = {k: v for k, v in item.items() if k in fields}
    data["status"] = Status(data["status"])
    data["recent_event_ids"] = tuple(data.get("recent_event_ids") or ())
    return ShipmentState(**data)


def shipment_item(state: ShipmentState) -> dict[str, Any]:
    """The ShipmentsTable item of a state, with the index keys of docs/ARCHITECTURE.md."""
    item = asdict(state)
    item["recent_event_ids"] = list(state.recent_event_ids)
    if not state.eta_leads:
        # No empty map: DynamoDB Local's stream sends one as a bare {} (no "M"), which the local stream reader
        # rejects (checked by hand); left out, it loads as {} again.
        del item["eta_leads"]
    item.update(
        geo=state.geo,
        needs_attention=state.needs_attention,
        attention_reason=state.attention_reason,
        **index_keys.shipment_index_attributes(state),
    )
    return item


def with_derived(item: dict[str, Any]) -> dict[str, Any]:
    """A stored shipment item with what readers derive rather than store: ``updated_key``."""
    return {**item, "updated_key": index_keys.updated_key(item.get("updated_at", ""), item["shipment_id"])}
