"""Nothing a producer sends can stall the pipeline (issue 10): property tests of the ingest.

For every batch of records (valid events, structure-aware mutations of them, arbitrary bytes, no value):

* the ingest never raises and names no record for retry (nothing here is transient);
* every record is either stored (its event is on its entity's timeline) or dead-lettered with a reason
  that is not the platform's own ``unexpected error``;
* every record built valid is stored, whatever shares its batch.

Two paths, 2,000 examples in the default run (1,940 batches of 4-10 records in memory, 60 of 20-30 records on
DynamoDB Local, about 3 minutes together):

* ``test_..._in_memory``: the service with in-memory ports that run every item through the real codec
  (``to_attributes``, UTF-8, DynamoDB's item size), so a value DynamoDB could not hold fails the test;
* ``test_..._on_dynamodb``: the real handler (``IngestFunction`` from template.yaml) on DynamoDB Local,
  checked against the real tables.

``INGEST_PROPERTY_SCALE`` multiplies the example counts (e.g. 10 for a long soak).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_runtime.esm.kafka.events import KafkaMessage, build_kafka_event
from logistics.adapters.codec import MAX_ITEM_BYTES, item_size, shipment_item, to_attributes
from logistics.adapters.dead_letter import UNATTRIBUTED, dead_letter_item
from logistics.adapters.dynamodb_timeline import entry_item
from logistics.adapters.warehouse_items import PENDING_BYTES, chunks, stock_item, summary_item
from logistics.contracts import ContractError, is_id, parse, to_domain
from logistics.domain.events import ShipmentEvent, WarehouseEvent, shipment_view
from logistics.domain.ports import DeadLetter, TimelineEntry, Versioned
from logistics.domain.shipment import ShipmentState
from logistics.service.ingest import UNEXPECTED, InboundRecord, Ingestor
from tests.fakes.memory import MemoryDeadLetters, MemoryStore, MemoryTimeline
from tests.integration.functions.ingest_inputs import batches

SCALE = float(os.environ.get("INGEST_PROPERTY_SCALE", "1"))
MEMORY_EXAMPLES = int(1940 * SCALE)
DYNAMODB_EXAMPLES = int(60 * SCALE)
CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/logistics/11111111-2222-3333-4444-555555555555-1"
HEADERS = [(), (("source", b"probe"),), (("", b"x"),), (("big", b"\xff" * 10_000),), (("trace", bytes(range(256))),)]


def _storable(item: dict[str, Any]) -> None:
    """What the DynamoDB adapters would send: it must serialise, be UTF-8 and fit DynamoDB's item size."""
    attributes = to_attributes(item)
    json.dumps(attributes, ensure_ascii=False).encode("utf-8")
    assert item_size(attributes) <= MAX_ITEM_BYTES


class CheckedStore(MemoryStore):
    def save(self, writes: Sequence[tuple[Any, Versioned[Any] | None]]) -> dict[int, Exception]:
        for state, _ in writes:
            if isinstance(state, ShipmentState):
                _storable(shipment_item(state))
                continue
            # The largest summary a warehouse write makes (a full pending map), and each SKU item.
            _storable(summary_item(state.state, pending=chunks(state.stock, PENDING_BYTES)[0]))
            for sku, qty in state.stock.items():
                _storable(stock_item(state.state.merchant_id, state.state.warehouse_id, sku, qty, 1))
        return super().save(writes)


class CheckedTimeline(MemoryTimeline):
    def append(self, entries: Sequence[TimelineEntry]) -> dict[int, Exception]:
        for entry in entries:
            _storable(entry_item(entry))
        return super().append(entries)


class CheckedDeadLetters(MemoryDeadLetters):
    def put(self, letters: Sequence[DeadLetter]) -> dict[int, Exception]:
        for letter in letters:
            _storable(dead_letter_item(letter))
        return super().put(letters)


def _event(value: bytes | None) -> ShipmentEvent | WarehouseEvent | None:
    """The event a record holds if the contract admits it (the oracle of "must be stored")."""
    if value is None or len(value) > 65536:
        return None
    try:
        return to_domain(parse(value))
    except ContractError:
        return None


def _entities(event: ShipmentEvent | WarehouseEvent) -> list[str]:
    if isinstance(event, WarehouseEvent):
        view = shipment_view(event)
        found = [f"{event.merchant_id}#W#{event.warehouse_id}"]
        return found + ([f"{view.merchant_id}#S#{view.shipment_id}"] if view else [])
    return [f"{event.merchant_id}#S#{event.shipment_id}"]


def _check_reason(reason: str, valid: bool, value: bytes | None) -> None:
    assert reason, "a dead letter without a reason"
    assert not reason.startswith(UNEXPECTED) and UNEXPECTED not in reason, reason
    assert not valid, f"a valid event was dead-lettered: {reason}\n{value!r}"[:2000]


@settings(max_examples=MEMORY_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=batches("m-mem", 4, 10))
def test_every_record_is_stored_or_dead_lettered_in_memory(batch: list[tuple[bytes | None, bool]]) -> None:
    store, timeline, letters = CheckedStore(), CheckedTimeline(), CheckedDeadLetters()
    records = [InboundRecord(id=("t-0", n), source=f"t-0@{n}", value=value, key=b"k", timestamp_ms=n)
               for n, (value, _) in enumerate(batch)]
    result = Ingestor(store, timeline, letters).ingest(records)
    assert result.failed == []
    by_source = {letter.source: letter for letter in letters.letters}
    for n, (value, valid) in enumerate(batch):
        letter = by_source.get(f"t-0@{n}")
        if letter is not None:
            _check_reason(letter.reason, valid, value)
            continue
        event = _event(value)
        assert event is not None, f"neither stored nor dead-lettered: {value!r}"[:2000]
        for entity in _entities(event):
            assert event.event_id in {e.event.event_id for e in timeline.of(entity)}, entity


_offsets = itertools.count()


@settings(max_examples=DYNAMODB_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(batch=batches("m-ddb"), headers=st.lists(st.sampled_from(HEADERS), min_size=30, max_size=30))
def test_every_record_is_stored_or_dead_lettered_on_dynamodb(
    stack: Any, batch: list[tuple[bytes | None, bool]], headers: list[tuple[tuple[str, bytes], ...]]
) -> None:
    messages = []
    for (value, _), header in zip(batch, headers, strict=False):
        offset = next(_offsets)
        messages.append(KafkaMessage("shipment-events", offset % 3, offset, 1_763_000_000_000 + offset,
                                     key=b"k" * (offset % 5000), value=value, headers=header))
    event = build_kafka_event(messages, bootstrap_servers="b-1.example:9098", cluster_arn=CLUSTER)
    response = stack.invoker.invoke("IngestFunction", event)
    assert response == {"batchItemFailures": []}

    client = stack.client("dynamodb")
    dead_letters, timeline = stack.physical("DeadLetterTable"), stack.physical("TimelineTable")
    # Where each record's dead letter would be: under its merchant when it names a valid one, else unattributed.
    candidates: list[list[tuple[str, str]]] = []
    for message, (value, _) in zip(messages, batch, strict=False):
        source = f"{message.topic}-{message.partition}@{message.offset}"
        dlq_key = f"{message.timestamp_ms:013d}#{source}"
        merchants = {UNATTRIBUTED}
        try:
            payload = json.loads(value or b"")
            if isinstance(payload, dict) and is_id(payload.get("merchant_id")):
                merchants.add(payload["merchant_id"])
        except (ValueError, RecursionError):
            pass
        candidates.append([(m, dlq_key) for m in sorted(merchants)])
    letters = _batch_get(client, dead_letters, [key for keys in candidates for key in keys])
    stored: dict[str, set[str]] = {}  # entity -> the event ids on its timeline, one Query per entity
    for keys, (value, valid) in zip(candidates, batch, strict=False):
        letter = next((letters[key] for key in keys if key in letters), None)
        if letter is not None:
            _check_reason(letter["reason"]["S"], valid, value)
            continue
        event = _event(value)
        assert event is not None, f"neither stored nor dead-lettered: {value!r}"[:2000]
        for entity in _entities(event):
            if entity not in stored:
                stored[entity] = _timeline_event_ids(client, timeline, entity)
            assert event.event_id in stored[entity], (entity, timeline)


def _batch_get(client: Any, table: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The dead-letter items found under ``keys`` ((merchant_id, dlq_key) pairs), with BatchGetItem."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 100):  # BatchGetItem takes at most 100 keys
        request: dict[str, Any] = {table: {"Keys": [{"merchant_id": {"S": m}, "dlq_key": {"S": k}}
                                                    for m, k in unique[start:start + 100]]}}
        while request:
            answer = client.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(table, []):
                found[(item["merchant_id"]["S"], item["dlq_key"]["S"])] = item
            request = answer.get("UnprocessedKeys") or {}
    return found


def _timeline_event_ids(client: Any, table: str, entity: str) -> set[str]:
    ids: set[str] = set()
    kwargs: dict[str, Any] = {"TableName": table, "KeyConditionExpression": "entity = :e",
                              "ExpressionAttributeValues": {":e": {"S": entity}}, "ProjectionExpression": "event_id"}
    while True:
        page = client.query(**kwargs)
        ids.update(item["event_id"]["S"] for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return ids
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
