"""Ingest a batch of raw records: validate, fold per entity, store, dead-letter the poison.

One batch makes one conditional state write per touched shipment or warehouse, whatever the
number of its events in the batch (plus, for a warehouse whose stock is kept per SKU, one item per SKU
whose quantity changed: a fold reads only the SKUs its events move, a re-fold compares them all). A
record counts as done only when every entity it touches is stored (or, for poison, when its dead letter
is stored); the rest are returned as failures so the event source retries them.

Nothing a producer sends makes ``ingest`` raise: a record is stored, dead-lettered with its reason, or
(only for what a retry can cure: throttling, a conflict, an unreachable store) named as failed. A
state the store refuses for what it holds (``Unstorable``) dead-letters the records that touched it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from logistics.contracts import ContractError, is_id, parse, to_domain
from logistics.domain import shipment as shipments
from logistics.domain import warehouse as warehouses
from logistics.domain.events import ShipmentEvent, WarehouseEvent, shipment_view
from logistics.domain.folding import Disposition, Plan, plan
from logistics.domain.ports import (
    DeadLetter,
    DeadLetterSink,
    StateStore,
    Timeline,
    TimelineEntry,
    Unstorable,
    Versioned,
    WarehouseWrite,
    WriteConflict,
)
from logistics.domain.warehouse import Stock

DEFAULT_MAX_EVENT_BYTES = 65536
CONFLICT_RETRIES = 3
UNEXPECTED = "unexpected error"  # the reason's prefix when the platform, not the record, is at fault


@dataclass(frozen=True)
class InboundRecord:
    """One record as the event source delivered it, transport-neutral.

    ``id`` is whatever the transport needs to name the record in a failure report.
    ``decode_error`` is set when the transport could not even decode the bytes.
    """

    id: Hashable
    source: str
    value: bytes | None
    key: bytes | None = None
    timestamp_ms: int = 0
    headers: dict[str, bytes] = field(default_factory=dict)
    decode_error: str | None = None


@dataclass
class IngestResult:
    failed: list[Hashable] = field(default_factory=list)
    stored_events: int = 0
    dead_lettered: int = 0
    entities_written: int = 0
    late: int = 0


@dataclass
class _Entity:
    """Everything one batch does to one shipment or warehouse."""

    kind: str  # "S" | "W"
    key: tuple[str, str]
    events: list[ShipmentEvent | WarehouseEvent] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # event id -> record source
    records: set[Hashable] = field(default_factory=set)

    @property
    def entity(self) -> str:
        return f"{self.key[0]}#{self.kind}#{self.key[1]}"


def _letter(record: InboundRecord, reason: str, payload: Any = None, *, oversized: bool = False,
            merchant_id: str | None = None, event_id: str | None = None) -> DeadLetter:
    """The dead letter of a record. Only identifiers the contract admits are read from the payload: a
    producer's garbage never ends up in a key."""
    if isinstance(payload, dict):
        merchant_id = merchant_id or payload.get("merchant_id")
        event_id = event_id or payload.get("event_id")
    return DeadLetter(
        source=record.source,
        reason=reason,
        value=record.value,
        key=record.key,
        timestamp_ms=record.timestamp_ms,
        headers=record.headers,
        merchant_id=merchant_id if is_id(merchant_id) else None,
        event_id=event_id if is_id(event_id) else None,
        oversized=oversized,
    )


def _decode(record: InboundRecord, max_bytes: int) -> ShipmentEvent | WarehouseEvent | DeadLetter:
    if record.decode_error:
        return _letter(record, record.decode_error)
    if record.value is None:
        return _letter(record, "record has no value")
    if len(record.value) > max_bytes:
        return _letter(record, f"value is {len(record.value)} bytes, above the {max_bytes}-byte limit",
                       oversized=True)
    try:
        payload = parse(record.value)
    except ContractError as exc:
        return _letter(record, str(exc))
    try:
        return to_domain(payload)
    except ContractError as exc:
        return _letter(record, str(exc), payload)


def _safe_decode(record: InboundRecord, max_bytes: int) -> ShipmentEvent | WarehouseEvent | DeadLetter:
    try:
        return _decode(record, max_bytes)
    except Exception as exc:  # a platform bug: it must not stall the batch; the dead letter is replayable
        return _letter(record, f"{UNEXPECTED} reading the record: {type(exc).__name__}: {exc}"[:500])


class Ingestor:
    """Applies batches of records to the store. Construct once per process; call per batch."""

    def __init__(
        self,
        store: StateStore,
        timeline: Timeline,
        dead_letters: DeadLetterSink,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self.store = store
        self.timeline = timeline
        self.dead_letters = dead_letters
        self.max_event_bytes = max_event_bytes

    def ingest(self, records: Sequence[InboundRecord]) -> IngestResult:
        """Process one batch; the result names the records the source must deliver again."""
        result = IngestResult()
        entities: dict[tuple[str, str, str], _Entity] = {}
        letters: list[tuple[DeadLetter, Hashable]] = []
        events_of: dict[Hashable, tuple[InboundRecord, str]] = {}

        def touch(kind: str, key: tuple[str, str], event: Any, record: InboundRecord) -> None:
            entity = entities.setdefault((kind, *key), _Entity(kind, key))
            entity.events.append(event)
            entity.sources.setdefault(event.event_id, record.source)
            entity.records.add(record.id)

        for record in records:
            decoded = _safe_decode(record, self.max_event_bytes)
            if isinstance(decoded, DeadLetter):
                letters.append((decoded, record.id))
                continue
            events_of[record.id] = (record, decoded.event_id)
            if isinstance(decoded, WarehouseEvent):
                touch("W", (decoded.merchant_id, decoded.warehouse_id), decoded, record)
                view = shipment_view(decoded)
                if view is not None:
                    touch("S", (view.merchant_id, view.shipment_id), view, record)
            else:
                touch("S", (decoded.merchant_id, decoded.shipment_id), decoded, record)

        failed: set[Hashable] = set()
        unstorable: dict[Hashable, tuple[str, str]] = {}  # record id -> (why its state cannot be stored, merchant)
        pending = list(entities.values())
        for _attempt in range(CONFLICT_RETRIES + 1):
            if not pending:
                break
            pending = self._write(pending, result, failed, unstorable)
        for entity in pending:  # still conflicting after the retries: let the source retry
            failed |= entity.records

        for record_id, (reason, merchant) in unstorable.items():
            if record_id not in failed:  # a record that will be retried anyway is not dead-lettered now
                record, event_id = events_of[record_id]
                letters.append((_letter(record, reason, merchant_id=merchant, event_id=event_id), record_id))

        if letters:
            errors = self.dead_letters.put([letter for letter, _ in letters])
            for position in errors:
                failed.add(letters[position][1])
            result.dead_lettered = len(letters) - len(errors)

        result.failed = [r.id for r in records if r.id in failed]
        return result

    def _write(self, entities: list[_Entity], result: IngestResult, failed: set[Hashable],
               unstorable: dict[Hashable, tuple[str, str]]) -> list[_Entity]:
        """One pass: fold and store each entity; returns those that hit a write conflict."""
        loaded_s = self.store.load_shipments(e.key for e in entities if e.kind == "S")
        loaded_w = self.store.load_warehouses(e.key for e in entities if e.kind == "W")
        writes: list[tuple[Any, Versioned[Any] | None]] = []
        owners: list[_Entity] = []
        entries: list[TimelineEntry] = []
        entry_owner: list[_Entity] = []
        unchanged: list[_Entity] = []

        def refuse(entity: _Entity, why: str) -> None:
            for record_id in entity.records:
                reason = f"state of {entity.entity} cannot be stored: {why}"[:1000]
                unstorable.setdefault(record_id, (reason, entity.key[0]))

        stored_of = {id(e): (loaded_s if e.kind == "S" else loaded_w).get(e.key) for e in entities}
        plans: dict[int, tuple[Plan, list[Any]]] = {}
        for entity in entities:
            try:
                plans[id(entity)] = self._plan(entity, stored_of[id(entity)])
            except Exception as exc:  # a platform bug: contain it to this entity's records
                refuse(entity, f"{UNEXPECTED} planning the fold: {type(exc).__name__}: {exc}")
        entities = [e for e in entities if id(e) in plans]
        # Out-of-order arrivals need their entity's history: read those timelines together, not one by one.
        histories = self.timeline.histories([e.entity for e in entities if plans[id(e)][0] is Plan.REFOLD])
        stocks = self._stocks(entities, stored_of, plans)

        for entity in entities:
            stored = stored_of[id(entity)]
            how, new = plans[id(entity)]
            try:
                new_state, dispositions, events = self._fold(entity, stored, how, new,
                                                             histories.get(entity.entity, []),
                                                             stocks.get(id(entity), {}))
            except Exception as exc:  # a platform bug: contain it to this entity's records
                refuse(entity, f"{UNEXPECTED} folding: {type(exc).__name__}: {exc}")
                continue
            if new_state is None:
                continue  # nothing new: every event was already folded in
            if _unchanged(new_state, stored) and not events:
                continue  # redeliveries that re-fold to the stored state: nothing to write
            for event in events:
                disposition = dispositions.get(event.event_id)
                if disposition is None:
                    continue
                entries.append(
                    TimelineEntry(entity.entity, event, disposition, entity.sources.get(event.event_id, ""))
                )
                entry_owner.append(entity)
                result.late += disposition == Disposition.LATE and event.event_id in entity.sources
            if _unchanged(new_state, stored):
                # Only timeline dispositions moved; the state (and so its indexes and stream) stays.
                unchanged.append(entity)
                continue
            writes.append((new_state, stored))
            owners.append(entity)

        # Timeline first: if the state write then fails, the redelivered events are folded again
        # and their timeline entries simply overwrite themselves.
        broken: set[int] = set()
        for position, refused in self.timeline.append(entries).items():
            owner = entry_owner[position]
            broken.add(id(owner))
            if isinstance(refused, Unstorable):
                refuse(owner, f"its timeline entry for event {entries[position].event.event_id}: {refused}")
            else:
                failed |= owner.records
        conflicts: list[_Entity] = []
        to_save = [(w, o) for w, o in zip(writes, owners, strict=True) if id(o) not in broken]
        errors = self.store.save([w for w, _ in to_save]) if to_save else {}
        for position, (_, owner) in enumerate(to_save):
            error = errors.get(position)
            if isinstance(error, WriteConflict):
                conflicts.append(owner)
            elif isinstance(error, Unstorable):
                refuse(owner, str(error))
            elif error is not None:
                failed |= owner.records
            else:
                result.entities_written += 1
                result.stored_events += len(owner.sources)
        return conflicts

    @staticmethod
    def _plan(entity: _Entity, stored: Versioned[Any] | None) -> tuple[Plan, list[Any]]:
        """How the entity's new events meet its stored state (corrections always re-fold, and so does a
        stored state whose stock items may lag it, even without a new event)."""
        state = stored.state if stored else None
        corrections = entity.kind == "S" and (
            (state is not None and state.corrections > 0)
            or any(isinstance(e, ShipmentEvent) and e.is_correction for e in entity.events)
        )
        incomplete = stored is not None and not stored.complete
        how, new = plan(state, entity.events, force_refold=corrections or incomplete)
        return (Plan.REFOLD, new) if incomplete else (how, new)

    def _stocks(self, entities: list[_Entity], stored_of: dict[int, Versioned[Any] | None],
                plans: dict[int, tuple[Plan, list[Any]]]) -> dict[int, Stock]:
        """The stored stock each warehouse fold starts from: the SKUs its new events move when it folds
        forward, all of them when it re-folds (to compare the whole fold with what is stored)."""
        wanted: list[tuple[int, Versioned[Any], set[str] | None]] = []
        for entity in entities:
            stored, (how, new) = stored_of[id(entity)], plans[id(entity)]
            if entity.kind == "W" and stored is not None and how is not Plan.NOTHING:
                wanted.append((id(entity), stored, warehouses.stock_skus(new) if how is Plan.FORWARD else None))
        if not wanted:
            return {}
        found = self.store.load_stock([(stored, skus) for _, stored, skus in wanted])
        return {key: stock for (key, _, _), stock in zip(wanted, found, strict=True)}

    @staticmethod
    def _fold(
        entity: _Entity, stored: Versioned[Any] | None, how: Plan, new: list[Any], history: list[tuple[Any, Any]],
        stock: Stock,
    ) -> tuple[Any, dict[str, Disposition], list[Any]]:
        """The entity's new state (for a warehouse, a ``WarehouseWrite`` with the stock that changed), each
        event's disposition and the events to (re)write on the timeline."""
        if how is Plan.NOTHING:
            return None, {}, []
        start = stored.state if stored is not None and how is Plan.FORWARD else None
        events = new if how is Plan.FORWARD else [event for event, _ in history] + new
        state: Any
        if entity.kind == "S":
            folded_shipment = shipments.fold(events, start)
            state, dispositions = folded_shipment.state, folded_shipment.dispositions
        else:
            # Forward: ``stock`` holds the SKUs the new events move; re-fold: every stored SKU, compared with
            # the whole fold. Either way only the quantities that differ are written.
            folded = warehouses.fold(events, start, stock if how is Plan.FORWARD else None)
            dispositions = folded.dispositions
            moved = warehouses.changed_stock(stock, folded.stock)
            state = WarehouseWrite(folded.state, moved) if folded.state else None
        if how is Plan.FORWARD:
            return state, dispositions, new
        before = {event.event_id: disposition for event, disposition in history}
        # Write the entries that are new to the timeline and rewrite any older entry whose disposition the
        # re-fold changed; a redelivered event already on the timeline with the same disposition is left alone.
        changed = [e for e, _ in history if dispositions.get(e.event_id) != before.get(e.event_id)]
        fresh = [e for e in new if e.event_id not in before]
        seen = {e.event_id for e in fresh}
        return state, dispositions, fresh + [e for e in changed if e.event_id not in seen]


def _unchanged(new: Any, stored: Versioned[Any] | None) -> bool:
    """Whether a fold gives back exactly what is stored (nothing to write for the state)."""
    if stored is None or not stored.complete:
        return False  # an incomplete warehouse is written again even when its fold is the same
    if isinstance(new, WarehouseWrite):
        return new.state == stored.state and not new.stock
    return bool(new == stored.state)
