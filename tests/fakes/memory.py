"""In-memory implementations of the domain ports, for service tests without AWS."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from logistics.domain.ports import DeadLetter, TimelineEntry, Versioned, WarehouseWrite, WriteConflict


@dataclass
class MemoryStore:
    shipments: dict[tuple[str, str], Versioned[Any]] = field(default_factory=dict)
    warehouses: dict[tuple[str, str], Versioned[Any]] = field(default_factory=dict)
    stock: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)  # warehouse -> SKU -> quantity
    save_calls: list[int] = field(default_factory=list)  # writes per save() call
    fail_keys: set[tuple[str, str]] = field(default_factory=set)  # keys whose writes raise
    conflicts_left: int = 0  # the next N writes see a version conflict

    def load_shipments(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Versioned[Any]]:
        return {k: self.shipments[k] for k in keys if k in self.shipments}

    def load_warehouses(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Versioned[Any]]:
        return {k: self.warehouses[k] for k in keys if k in self.warehouses}

    def load_stock(self, wanted: Sequence[tuple[Versioned[Any], Collection[str] | None]]) -> list[dict[str, int]]:
        found = []
        for stored, skus in wanted:
            held = self.stock.get((stored.state.merchant_id, stored.state.warehouse_id), {})
            found.append(dict(held) if skus is None else {s: held[s] for s in skus if s in held})
        return found

    def save(self, writes: Sequence[tuple[Any, Versioned[Any] | None]]) -> dict[int, Exception]:
        self.save_calls.append(len(writes))
        errors: dict[int, Exception] = {}
        for i, (written, stored) in enumerate(writes):
            is_warehouse = isinstance(written, WarehouseWrite)
            state = written.state if is_warehouse else written
            key = (state.merchant_id, state.warehouse_id if is_warehouse else state.shipment_id)
            table = self.warehouses if is_warehouse else self.shipments
            current = table.get(key)
            if key in self.fail_keys:
                errors[i] = RuntimeError("ProvisionedThroughputExceededException")
            elif self.conflicts_left > 0:
                self.conflicts_left -= 1
                errors[i] = WriteConflict("simulated")
            elif (current.version if current else 0) != (stored.version if stored else 0):
                errors[i] = WriteConflict("version moved")
            else:
                table[key] = Versioned(state, (stored.version if stored else 0) + 1, {})
                if is_warehouse:
                    self.stock.setdefault(key, {}).update(written.stock)
        return errors


@dataclass
class MemoryTimeline:
    entries: dict[tuple[str, str], TimelineEntry] = field(default_factory=dict)
    appends: int = 0

    def append(self, entries: Sequence[TimelineEntry]) -> dict[int, Exception]:
        self.appends += 1
        for entry in entries:
            self.entries[(entry.entity, entry.event.sort_key)] = entry
        return {}

    def histories(self, entities: Sequence[str]) -> dict[str, list[tuple[Any, Any]]]:
        return {entity: self.history(entity) for entity in entities}

    def history(self, entity: str) -> list[tuple[Any, Any]]:
        return [(e.event, e.disposition) for (ent, _), e in sorted(self.entries.items()) if ent == entity]

    def of(self, entity: str) -> list[TimelineEntry]:
        return [e for (ent, _), e in sorted(self.entries.items()) if ent == entity]


@dataclass
class MemoryDeadLetters:
    letters: list[DeadLetter] = field(default_factory=list)
    broken: bool = False

    def put(self, letters: Sequence[DeadLetter]) -> dict[int, Exception]:
        if self.broken:
            return {i: RuntimeError("dead-letter table unavailable") for i in range(len(letters))}
        self.letters.extend(letters)
        return {}


@dataclass
class MemoryMerchants:
    merchants: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, merchant_id: str) -> dict[str, Any] | None:
        return self.merchants.get(merchant_id)


@dataclass
class MemoryLog:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def record(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)


@dataclass
class MemoryOnce:
    done: dict[str, dict[str, Any]] = field(default_factory=dict)

    def run_once(self, key: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if key not in self.done:
            self.done[key] = action()
        return self.done[key]


@dataclass
class MemoryCustomers:
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, message: dict[str, Any]) -> str:
        self.sent.append(message)
        return f"msg-{len(self.sent)}"


@dataclass
class MemoryWebhooks:
    delivered: list[tuple[str, bytes]] = field(default_factory=list)
    failing: bool = False

    def deliver(self, url: str, secret: str, body: bytes) -> dict[str, Any]:
        if self.failing:
            raise RuntimeError(f"HTTP 500 from {url}")
        self.delivered.append((url, body))
        return {"http_status": 200, "tries": 1}
