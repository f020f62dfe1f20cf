"""The key formats of ShipmentsTable's indexes, in one place for the writer and the readers.

The ingest path writes these attributes (``codec.shipment_item``, ``DynamoDBStateStore``) and the
dashboard queries them; both build the values here. The formats are stored data: changing one
leaves every item written before under a key no reader asks for, so they must stay byte-for-byte.
"""

from __future__ import annotations

from dataclasses import dataclass

from logistics.domain.shipment import ShipmentState

SEP = "#"
UPDATED_KEY = "updated_key"  # range key of the list indexes
INGESTED_KEY = "ingested_key"  # range key of by_ingested


@dataclass(frozen=True)
class Index:
    """A global secondary index of ShipmentsTable: its name and key attributes (template.yaml)."""

    name: str
    hash_attr: str
    range_attr: str | None = None


# Lists, newest first by updated_key; by_attention is sparse (only shipments that need attention).
BY_UPDATED = Index("by_updated", "merchant_id", UPDATED_KEY)
BY_STATUS = Index("by_status", "merchant_status", UPDATED_KEY)
BY_GEO = Index("by_geo", "merchant_geo", UPDATED_KEY)
BY_CARRIER = Index("by_carrier", "merchant_carrier", UPDATED_KEY)
BY_WAREHOUSE = Index("by_warehouse", "merchant_warehouse", UPDATED_KEY)
BY_ATTENTION = Index("by_attention", "attention_merchant", UPDATED_KEY)
# When an item was stored (not when its event occurred): the live pages' change feed.
BY_INGESTED = Index("by_ingested", "merchant_id", INGESTED_KEY)
# Lookups by an identifier; the merchant is part of the key, so one merchant never finds another's.
BY_TRACKING = Index("by_tracking", "merchant_tracking")
BY_ORDER = Index("by_order", "merchant_order")
BY_TOKEN = Index("by_token", "tracking_token")


def scoped(merchant_id: str, value: str) -> str:
    """``<merchant>#<value>``: the hash key of the per-merchant indexes (status, geo, carrier, ...)."""
    return f"{merchant_id}{SEP}{value}"


def updated_key(updated_at: str, shipment_id: str) -> str:
    """The range key of the list indexes: the newest event's UTC time, then the id (unique, sortable)."""
    return f"{updated_at}{SEP}{shipment_id}"


def ingested_key(stored_at: str, shipment_id: str) -> str:
    """The range key of ``by_ingested``: when the item was written (UTC, milliseconds), then the id."""
    return f"{stored_at}{SEP}{shipment_id}"


def attention_key(merchant_id: str) -> str:
    """The hash key of the sparse ``by_attention`` index: just the merchant."""
    return merchant_id


def _optional(merchant_id: str, value: str | None) -> str | None:
    # An absent value leaves the attribute out, and with it the item out of that index.
    return scoped(merchant_id, value) if value else None


def shipment_index_attributes(state: ShipmentState) -> dict[str, str | None]:
    """The merchant-scoped index attributes of a shipment item (None: not in that index)."""
    m = state.merchant_id
    return {
        BY_STATUS.hash_attr: scoped(m, state.status),
        BY_GEO.hash_attr: _optional(m, state.geo),
        BY_CARRIER.hash_attr: _optional(m, state.carrier),
        BY_WAREHOUSE.hash_attr: _optional(m, state.warehouse_id),
        BY_TRACKING.hash_attr: _optional(m, state.tracking_number),
        BY_ORDER.hash_attr: _optional(m, state.order_ref),
        BY_ATTENTION.hash_attr: attention_key(m) if state.needs_attention else None,
    }
