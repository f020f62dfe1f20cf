"""The ingest service's warehouse path: stock per SKU read and written apart from the warehouse state."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from logistics.domain import warehouse
from logistics.domain.events import StockLine, WarehouseEvent
from logistics.domain.ports import Versioned, WarehouseWrite
from logistics.service.ingest import Ingestor
from tests.factories import record, warehouse_event
from tests.fakes.memory import MemoryDeadLetters, MemoryStore, MemoryTimeline

KEY = ("m1", "w1")


class SpyStore(MemoryStore):
    """Records what the service asks of the stock, and the warehouse writes it makes."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[Collection[str] | None] = []
        self.written: list[WarehouseWrite] = []

    def load_stock(self, wanted: Sequence[tuple[Versioned[Any], Collection[str] | None]]) -> list[dict[str, int]]:
        self.asked.extend(skus for _, skus in wanted)
        return super().load_stock(wanted)

    def save(self, writes: Sequence[tuple[Any, Versioned[Any] | None]]) -> dict[int, Exception]:
        self.written.extend(w for w, _ in writes if isinstance(w, WarehouseWrite))
        return super().save(writes)


def ingestor(store: MemoryStore, timeline: MemoryTimeline | None = None) -> Ingestor:
    return Ingestor(store, timeline or MemoryTimeline(), MemoryDeadLetters())


def movement(event_type: str, minute: int, lines: dict[str, int], **fields: Any) -> dict[str, Any]:
    items = [{"sku": sku, "qty": qty} for sku, qty in lines.items()]
    return warehouse_event(event_type, at=f"2026-11-20T08:{minute:02d}:00Z", items=items, **fields)


def deliver(ingest: Ingestor, events: list[dict[str, Any]], offset: int = 0) -> None:
    result = ingest.ingest([record(e, offset + i, topic="warehouse-events") for i, e in enumerate(events)])
    assert result.failed == [] and result.dead_lettered == 0


def reference(events: list[dict[str, Any]]) -> warehouse.WarehouseFold:
    return warehouse.fold([
        WarehouseEvent(e["event_id"], e["merchant_id"], e["warehouse_id"], e["event_type"], e["occurred_at"],
                       tuple(StockLine(i["sku"], i["qty"]) for i in e["items"]), zone=e["zone"], bin=e["bin"],
                       shipment_id=e.get("shipment_id"), actor=e["actor"], location=e["location"])
        for e in events
    ])


def test_forward_reads_and_writes_only_the_skus_its_events_move():
    store = SpyStore()
    ingest = ingestor(store)
    deliver(ingest, [movement("received", 0, {f"sku-{n}": 10 for n in range(200)})])
    assert store.asked == []  # a new warehouse: nothing stored to read
    assert len(store.written[-1].stock) == 200
    deliver(ingest, [movement("picked", 1, {"sku-3": 4}, shipment_id="s1"),
                     movement("packed", 2, {"sku-4": 99}, shipment_id="s1"),  # handling: stock unchanged
                     movement("cycle_counted", 3, {"sku-5": 10, "sku-new": 1})], offset=1)
    assert [set(skus) for skus in store.asked if skus is not None] == [{"sku-3", "sku-5", "sku-new"}]
    assert store.written[-1].stock == {"sku-3": 6, "sku-new": 1}  # sku-5 counted at what it was: unchanged
    state = store.warehouses[KEY].state
    assert (state.skus, state.units) == (201, 200 * 10 - 4 + 1)
    assert store.stock[KEY]["sku-3"] == 6 and store.stock[KEY]["sku-5"] == 10


def test_a_late_event_refolds_the_whole_stock_and_writes_what_differs():
    store, timeline = SpyStore(), MemoryTimeline()
    ingest = ingestor(store, timeline)
    events = [movement("received", 0, {"a": 5, "b": 5}), movement("cycle_counted", 10, {"a": 3}),
              movement("received", 5, {"a": 100, "b": 1})]  # happened before the count, arrives last
    deliver(ingest, events[:2])
    deliver(ingest, events[2:], offset=2)
    assert store.asked == [None]  # the re-fold compares every stored SKU
    assert store.written[-1].stock == {"b": 6}  # "a" was reset by the later count: unchanged
    assert store.stock[KEY] == reference(events).stock == {"a": 3, "b": 6}
    assert store.warehouses[KEY].state == reference(events).state


def test_a_redelivered_batch_writes_nothing():
    store = SpyStore()
    ingest = ingestor(store)
    batch = [movement("received", n, {f"sku-{n}": n + 1}) for n in range(8)]
    deliver(ingest, batch)
    writes = len(store.written)
    deliver(ingest, batch)
    deliver(ingest, list(reversed(batch)))
    assert len(store.written) == writes and store.warehouses[KEY].version == 1
    assert store.stock[KEY] == reference(batch).stock


def test_an_incomplete_warehouse_is_refolded_and_written_even_without_a_new_event():
    store = SpyStore()
    ingest = ingestor(store)
    batch = [movement("received", 0, {"a": 5, "b": 7})]
    deliver(ingest, batch)
    # As a write series that stopped half way leaves it: the state says both, one SKU item is missing.
    del store.stock[KEY]["b"]
    store.warehouses[KEY] = replace(store.warehouses[KEY], complete=False)
    deliver(ingest, batch)
    assert store.asked[-1] is None and store.written[-1].stock == {"b": 7}
    assert store.stock[KEY] == {"a": 5, "b": 7} and store.warehouses[KEY].complete


def test_any_arrival_order_and_batching_gives_the_stock_of_the_fold():
    rng = random.Random(5)
    kinds = ["received", "picked", "adjusted", "cycle_counted", "return_received", "putaway"]
    events = [movement(rng.choice(kinds), rng.randrange(60), {f"sku-{rng.randrange(12)}": rng.randrange(-3, 9)
                                                             for _ in range(rng.randrange(1, 4))})
              for _ in range(40)]
    expected = reference(events)
    in_time = sorted(events, key=lambda e: (e["occurred_at"], e["event_id"]))  # every batch folds forward
    for seed in range(6):
        order = in_time if seed == 0 else random.Random(seed).sample(events, len(events))
        order = order + random.Random(seed).sample(events, 5)  # and some redelivered
        store = MemoryStore()
        ingest = ingestor(store)
        cuts = sorted(random.Random(seed).sample(range(1, len(order)), 6))
        for n, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(order)], strict=True)):
            deliver(ingest, order[a:b], offset=100 * n)
            # After every batch, forward or re-fold: the stock and state of the events delivered so far.
            so_far = reference(list({e["event_id"]: e for e in order[:b]}.values()))
            assert store.stock[KEY] == so_far.stock and store.warehouses[KEY].state == so_far.state
        assert store.stock[KEY] == expected.stock
        assert store.warehouses[KEY].state == expected.state
