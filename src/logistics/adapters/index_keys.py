"""The key formats of ShipmentsTable's indexes, in one place for the writer and the readers.

The ingest path writes these attributes (``codec.shipment_item``, ``DynamoDBStateStore``) and the
dashboard queries them; both build the values here. The formats are stored data: changing one
leaves every item written before under a key no reader asks for, so they must stay byte-for-byte.

Every index projects KEYS_ONLY (table keys + its own keys, ~100 bytes: 1 write unit), and each sort
key moves only when what the index is about moves (see docs/ARCHITECTURE.md), so a state write that
changes none of an index's keys writes nothing to that index. Readers fetch the page's items with
one BatchGetItem.
"""

from __future__ import annotations

from dataclasses import dataclass

from logistics.domain.shipment import ShipmentState

SEP = "#"
INGESTED_KEY = "ingested_key"  # by_ingested: when the item was last stored (moves on every write)
STATUS_KEY = "status_key"  # by_status, by_attention: when the current status began
CREATED_KEY = "created_key"  # by_geo, by_carrier, by_warehouse: when the shipment's first event occurred


@dataclass(frozen=True)
class Index:
    """A global secondary index of ShipmentsTable: its name and key attributes (template.yaml)."""

    name: str
    hash_attr: str
    range_attr: str | None = None


# The change feed and the "recently active" list: the only index written on every state write.
BY_INGESTED = Index("by_ingested", "merchant_id", INGESTED_KEY)
# Written only when the status changes; by_attention is sparse (only shipments that need attention).
BY_STATUS = Index("by_status", "merchant_status", STATUS_KEY)
BY_ATTENTION = Index("by_attention", "attention_merchant", STATUS_KEY)
# Written only when their partition value changes (geography, carrier, warehouse).
BY_GEO = Index("by_geo", "merchant_geo", CREATED_KEY)
BY_CARRIER = Index("by_carrier", "merchant_carrier", CREATED_KEY)
BY_WAREHOUSE = Index("by_warehouse", "merchant_warehouse", CREATED_KEY)
# Lookups by an identifier, written once; the merchant is part of the key, so one merchant never finds another's.
BY_TRACKING = Index("by_tracking", "merchant_tracking")
BY_ORDER = Index("by_order", "merchant_order")
BY_TOKEN = Index("by_token", "tracking_token")


def scoped(merchant_id: str, value: str) -> str:
    """``<merchant>#<value>``: the hash key of the per-merchant indexes (status, geo, carrier, ...)."""
    return f"{merchant_id}{SEP}{value}"


def updated_key(updated_at: str, shipment_id: str) -> str:
    """``<newest event's UTC time>#<id>``: a shipment's position by last update (derived, not stored)."""
    return f"{updated_at}{SEP}{shipment_id}"


def ingested_key(stored_at: str, shipment_id: str) -> str:
    """The range key of ``by_ingested``: when the item was written (UTC, milliseconds), then the id."""
    return f"{stored_at}{SEP}{shipment_id}"


def status_key(state: ShipmentState) -> str:
    """The range key of ``by_status`` and ``by_attention``: when the current status began, then the id."""
    return f"{state.status_changed_at}{SEP}{state.shipment_id}"


def created_at(state: ShipmentState) -> str:
    """When the shipment's first counted event occurred (its earliest milestone)."""
    return min(state.milestones.values()) if state.milestones else state.status_changed_at


def created_key(state: ShipmentState) -> str:
    """The range key of ``by_geo``, ``by_carrier`` and ``by_warehouse``: first occurrence, then the id."""
    return f"{created_at(state)}{SEP}{state.shipment_id}"


def attention_key(merchant_id: str) -> str:
    """The hash key of the sparse ``by_attention`` index: just the merchant."""
    return merchant_id


def _optional(merchant_id: str, value: str | None) -> str | None:
    # An absent value leaves the attribute out, and with it the item out of that index.
    return scoped(merchant_id, value) if value else None


def shipment_index_attributes(state: ShipmentState) -> dict[str, str | None]:
    """The index key attributes of a shipment item (None: not in that index); ``ingested_key`` is the store's."""
    m = state.merchant_id
    return {
        BY_STATUS.hash_attr: scoped(m, state.status),
        STATUS_KEY: status_key(state),
        CREATED_KEY: created_key(state),
        BY_GEO.hash_attr: _optional(m, state.geo),
        BY_CARRIER.hash_attr: _optional(m, state.carrier),
        BY_WAREHOUSE.hash_attr: _optional(m, state.warehouse_id),
        BY_TRACKING.hash_attr: _optional(m, state.tracking_number),
        BY_ORDER.hash_attr: _optional(m, state.order_ref),
        BY_ATTENTION.hash_attr: attention_key(m) if state.needs_attention else None,
    }
