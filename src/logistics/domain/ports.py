"""Ports: what the services need from storage and messaging. Adapters and test fakes implement them."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from logistics.domain.events import ShipmentEvent, WarehouseEvent
from logistics.domain.folding import Disposition
from logistics.domain.shipment import ShipmentState
from logistics.domain.warehouse import Stock, WarehouseState

S = TypeVar("S")


@dataclass(frozen=True)
class Versioned(Generic[S]):
    """A stored state with the version its next write must match (optimistic concurrency)."""

    state: S
    version: int
    extra: dict[str, Any]  # stored attributes outside the domain (e.g. the tracking token)
    # False when parts stored beside the state (a warehouse's stock items) may lag it: fold it again
    # from the timeline and write it whole before trusting it.
    complete: bool = True


@dataclass(frozen=True)
class WarehouseWrite:
    """What one write stores for a warehouse: its new state and the new quantity of each SKU that changed."""

    state: WarehouseState
    stock: Stock


@dataclass(frozen=True)
class TimelineEntry:
    """One event on one entity's timeline, with what it did there."""

    entity: str  # "<merchant>#S#<shipment>" or "<merchant>#W#<warehouse>"
    event: ShipmentEvent | WarehouseEvent
    disposition: Disposition
    source: str  # where it came from, e.g. "shipment-events-0@42"


@dataclass(frozen=True)
class DeadLetter:
    """A record that can never be processed, kept with the reason and its original bytes."""

    source: str
    reason: str
    value: bytes | None
    key: bytes | None
    timestamp_ms: int
    headers: dict[str, bytes]
    merchant_id: str | None = None
    event_id: str | None = None
    oversized: bool = False  # the value is above the size limit: only a prefix of it is kept


class WriteConflict(Exception):
    """The stored version moved on since it was read; read again and re-fold."""


class Unstorable(Exception):
    """The store refuses an item for what it holds (above the item size limit, a value it cannot
    hold): writing it again can never succeed, so its records are dead-lettered, not retried."""


ShipmentKey = tuple[str, str]  # (merchant_id, shipment_id)
WarehouseKey = tuple[str, str]  # (merchant_id, warehouse_id)


class StateStore(Protocol):
    def load_shipments(self, keys: Iterable[ShipmentKey]) -> dict[ShipmentKey, Versioned[ShipmentState]]: ...
    def load_warehouses(self, keys: Iterable[WarehouseKey]) -> dict[WarehouseKey, Versioned[WarehouseState]]:
        """Warehouse states, without their stock per SKU (``load_stock`` reads it)."""
        ...

    def load_stock(self, wanted: Sequence[tuple[Versioned[WarehouseState], Collection[str] | None]]) -> list[Stock]:
        """For each loaded warehouse, the stored quantity of each of the given SKUs that has one (None: every
        SKU), in the order asked."""
        ...

    def save(
        self, writes: Sequence[tuple[ShipmentState | WarehouseWrite, Versioned[Any] | None]]
    ) -> dict[int, Exception]:
        """Write new states conditionally on the versions read; returns errors by position
        (``WriteConflict`` for a version mismatch, ``Unstorable`` for a state the store cannot hold)."""
        ...


class Timeline(Protocol):
    def histories(
        self, entities: Sequence[str]
    ) -> dict[str, list[tuple[ShipmentEvent | WarehouseEvent, Disposition]]]:
        """Every stored event of each entity, with its disposition."""
        ...

    def append(self, entries: Sequence[TimelineEntry]) -> dict[int, Exception]:
        """Write entries idempotently; returns the errors of those that could not be written, by
        position (``Unstorable`` when retrying cannot help)."""
        ...


class DeadLetterSink(Protocol):
    def put(self, letters: Sequence[DeadLetter]) -> dict[int, Exception]:
        """Store dead letters, each on its own (one that cannot be stored never holds back the others);
        returns the errors of those that could not be stored, by position."""
        ...


class MerchantDirectory(Protocol):
    def get(self, merchant_id: str) -> dict[str, Any] | None:
        """Merchant settings: webhook_url, webhook_secret, customer_statuses, ..."""
        ...


class NotificationLog(Protocol):
    def record(self, entry: dict[str, Any]) -> None: ...


class OnceGuard(Protocol):
    def run_once(self, key: str, action: Any) -> dict[str, Any]:
        """Run ``action()`` unless an action with this key already completed; returns its result."""
        ...


class CustomerChannel(Protocol):
    def send(self, message: dict[str, Any]) -> str:
        """Hand a customer message to the fan-out; returns the message id."""
        ...


class WebhookSender(Protocol):
    def deliver(self, url: str, secret: str, body: bytes) -> dict[str, Any]:
        """POST a signed body, retrying with backoff; raises when delivery finally fails."""
        ...


class DeferredQueue(Protocol):
    """Customer messages that quiet hours held back, waiting for their time."""

    def due(self, now_iso: str) -> Iterable[dict[str, Any]]:
        """Deferred entries whose ``due_at`` is at or before ``now_iso`` and not yet sent."""
        ...

    def mark_sent(self, entry: dict[str, Any], message_id: str, sent_at: str) -> None:
        """Record that ``entry`` went out, so ``due`` no longer returns it."""
        ...
