"""Ingest a batch of raw records: validate, fold per entity, store, dead-letter the poison.

One batch makes one conditional state write per touched shipment or warehouse, whatever the
number of its events in the batch. A record counts as done only when every entity it touches is
stored (or, for poison, when its dead letter is stored); the rest are returned as failures so the
event source retries them.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from logistics.contracts import ContractError, to_domain
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
    Versioned,
    WriteConflict,
)

DEFAULT_MAX_EVENT_BYTES = 65536
CONFLICT_RETRIES = 3


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


def _decode(record: InboundRecord, max_bytes: int) -> ShipmentEvent | WarehouseEvent | DeadLetter:
    def poison(reason: str, payload: Any = None, *, oversized: bool = False) -> DeadLetter:
        merchant = payload.get("merchant_id") if isinstance(payload, dict) else None
        event_id = payload.get("event_id") if isinstance(payload, dict) else None
        return DeadLetter(
            source=record.source,
            reason=reason,
            value=record.value,
            key=record.key,
            timestamp_ms=record.timestamp_ms,
            headers=record.headers,
            merchant_id=merchant if isinstance(merchant, str) else None,
            event_id=event_id if isinstance(event_id, str) else None,
            oversized=oversized,
        )

    if record.decode_error:
        return poison(record.decode_error)
    if record.value is None:
        return poison("record has no value")
    if len(record.value) > max_bytes:
        return poison(f"value is {len(record.value)} bytes, above the {max_bytes}-byte limit", oversized=True)
    try:
        payload = json.loads(record.value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return poison(f"value is not JSON: {exc}")
    try:
        return to_domain(payload)
    except ContractError as exc:
        return poison(str(exc), payload)


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

        def touch(kind: str, key: tuple[str, str], event: Any, record: InboundRecord) -> None:
            entity = entities.setdefault((kind, *key), _Entity(kind, key))
            entity.events.append(event)
            entity.sources.setdefault(event.event_id, record.source)
            entity.records.add(record.id)

        for record in records:
            decoded = _decode(record, self.max_event_bytes)
            if isinstance(decoded, DeadLetter):
                letters.append((decoded, record.id))
            elif isinstance(decoded, WarehouseEvent):
                touch("W", (decoded.merchant_id, decoded.warehouse_id), decoded, record)
                view = shipment_view(decoded)
                if view is not None:
                    touch("S", (view.merchant_id, view.shipment_id), view, record)
            else:
                touch("S", (decoded.merchant_id, decoded.shipment_id), decoded, record)

        failed: set[Hashable] = set()
        if letters:
            for position in self.dead_letters.put([letter for letter, _ in letters]):
                failed.add(letters[position][1])
            result.dead_lettered = len(letters) - len(failed)

        pending = list(entities.values())
        for _attempt in range(CONFLICT_RETRIES + 1):
            if not pending:
                break
            pending = self._write(pending, result, failed)
        for entity in pending:  # still conflicting after the retries: let the source retry
            failed |= entity.records

        result.failed = [r.id for r in records if r.id in failed]
        return result

    def _write(self, entities: list[_Entity], result: IngestResult, failed: set[Hashable]) -> list[_Entity]:
        """One pass: fold and store each entity; returns those that hit a write conflict."""
        loaded_s = self.store.load_shipments(e.key for e in entities if e.kind == "S")
        loaded_w = self.store.load_warehouses(e.key for e in entities if e.kind == "W")
        writes: list[tuple[Any, Versioned[Any] | None]] = []
        owners: list[_Entity] = []
        entries: list[TimelineEntry] = []
        entry_owner: list[_Entity] = []
        unchanged: list[_Entity] = []

        stored_of = {id(e): (loaded_s if e.kind == "S" else loaded_w).get(e.key) for e in entities}
        plans = {id(e): self._plan(e, stored_of[id(e)]) for e in entities}
        # Out-of-order arrivals need their entity's history: read those timelines together, not one by one.
        histories = self.timeline.histories([e.entity for e in entities if plans[id(e)][0] is Plan.REFOLD])

        for entity in entities:
            stored = stored_of[id(entity)]
            how, new = plans[id(entity)]
            new_state, dispositions, events = self._fold(entity, stored, how, new, histories.get(entity.entity, []))
            if new_state is None:
                continue  # nothing new: every event was already folded in
            if stored is not None and new_state == stored.state and not events:
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
            if stored is not None and new_state == stored.state:
                # Only timeline dispositions moved; the state (and so its indexes and stream) stays.
                unchanged.append(entity)
                continue
            writes.append((new_state, stored))
            owners.append(entity)

        # Timeline first: if the state write then fails, the redelivered events are folded again
        # and their timeline entries simply overwrite themselves.
        broken: set[int] = set()
        for position in self.timeline.append(entries):
            broken.add(id(entry_owner[position]))
        conflicts: list[_Entity] = []
        to_save = [(w, o) for w, o in zip(writes, owners, strict=True) if id(o) not in broken]
        errors = self.store.save([w for w, _ in to_save]) if to_save else {}
        for position, (_, owner) in enumerate(to_save):
            error = errors.get(position)
            if isinstance(error, WriteConflict):
                conflicts.append(owner)
            elif error is not None:
                failed |= owner.records
            else:
                result.entities_written += 1
                result.stored_events += len(owner.sources)
        for owner in [*owners, *unchanged]:
            if id(owner) in broken:
                failed |= owner.records
        return conflicts

    @staticmethod
    def _plan(entity: _Entity, stored: Versioned[Any] | None) -> tuple[Plan, list[Any]]:
        """How the entity's new events meet its stored state (corrections always re-fold)."""
        state = stored.state if stored else None
        corrections = entity.kind == "S" and (
            (state is not None and state.corrections > 0)
            or any(isinstance(e, ShipmentEvent) and e.is_correction for e in entity.events)
        )
        return plan(state, entity.events, force_refold=corrections)

    @staticmethod
    def _fold(
        entity: _Entity, stored: Versioned[Any] | None, how: Plan, new: list[Any], history: list[tuple[Any, Any]]
    ) -> tuple[Any, dict[str, Disposition], list[Any]]:
        """The entity's new state, each event's disposition and the events to (re)write on the timeline."""
        module = shipments if entity.kind == "S" else warehouses
        if how is Plan.NOTHING:
            return None, {}, []
        if how is Plan.FORWARD:
            folded = module.fold(new, stored.state if stored else None)
            return folded.state, folded.dispositions, new
        before = {event.event_id: disposition for event, disposition in history}
        folded = module.fold([event for event, _ in history] + new, None)
        # Write the entries that are new to the timeline and rewrite any older entry whose disposition the
        # re-fold changed; a redelivered event already on the timeline with the same disposition is left alone.
        changed = [e for e, _ in history if folded.dispositions.get(e.event_id) != before.get(e.event_id)]
        fresh = [e for e in new if e.event_id not in before]
        seen = {e.event_id for e in fresh}
        return folded.state, folded.dispositions, fresh + [e for e in changed if e.event_id not in seen]
