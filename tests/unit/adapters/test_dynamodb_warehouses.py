"""Warehouse state on the suite's DynamoDB (DynamoDB Local through the autouse fixture): the summary item,
stock inline while small and in SKU items beyond, the commit-then-copy protocol and its recovery."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runtime.cloudformation import load_template
from local_runtime.services import aws
from logistics.adapters import warehouse_items as layout
from logistics.adapters.codec import from_attributes
from logistics.adapters.dynamodb_store import DynamoDBStateStore
from logistics.adapters.dynamodb_timeline import DynamoDBTimeline
from logistics.adapters.dynamodb_warehouses import DynamoDBWarehouses
from logistics.domain import warehouse
from logistics.domain.events import StockLine, WarehouseEvent
from logistics.domain.ports import Versioned, WarehouseWrite, WriteConflict
from logistics.service.ingest import Ingestor
from tests.factories import record, warehouse_event
from tests.fakes.memory import MemoryDeadLetters

ROOT = Path(__file__).resolve().parents[3]
M, W = "m1", "w1"


@pytest.fixture
def tables(dynamodb_endpoint: str | None, request: pytest.FixtureRequest,
           unique_name: str) -> Iterator[tuple[Any, dict[str, str]]]:
    """WarehousesTable and TimelineTable as template.yaml declares them, under unique names."""
    endpoint = dynamodb_endpoint or request.getfixturevalue("moto_endpoint")
    template = load_template(ROOT / "template.yaml", config_env="local", stack_name=unique_name[:40])
    client = aws.client("dynamodb", endpoint, "us-east-1", max_pool_connections=32)  # the adapters' threads
    names: dict[str, str] = {}
    for logical in ("WarehousesTable", "TimelineTable"):
        props = template.resolve(template.resources[logical].raw_properties, logical)
        names[logical] = props["TableName"]
        client.create_table(TableName=props["TableName"], BillingMode="PAY_PER_REQUEST",
                            KeySchema=props["KeySchema"], AttributeDefinitions=props["AttributeDefinitions"])
    for name in names.values():
        client.get_waiter("table_exists").wait(TableName=name)
    yield client, names
    for name in names.values():
        client.delete_table(TableName=name)


def items(client: Any, table: str) -> dict[str, dict[str, Any]]:
    """Every item of merchant M by sort key (consistent)."""
    found: dict[str, dict[str, Any]] = {}
    request: dict[str, Any] = {"TableName": table, "KeyConditionExpression": "merchant_id = :m",
                               "ExpressionAttributeValues": {":m": {"S": M}}, "ConsistentRead": True}
    while True:
        response = client.query(**request)
        found.update((i["warehouse_id"], i) for i in map(from_attributes, response["Items"]))
        if "LastEvaluatedKey" not in response:
            return found
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def stock_of(found: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {sku: int(i["qty"]) for key, i in found.items() for w, sku in [layout.parse_key(key)] if sku}


def received(event_id: str, minute: int, lines: dict[str, int]) -> WarehouseEvent:
    return WarehouseEvent(event_id, M, W, "received", f"2026-11-20T08:{minute:02d}:00Z",
                          tuple(StockLine(sku, qty) for sku, qty in lines.items()))


def write_of(events: list[WarehouseEvent], stored: Versioned[Any] | None, store: DynamoDBWarehouses) -> WarehouseWrite:
    """What the ingest writes for ``events`` folded forward onto ``stored``."""
    given = store.load_stock([(stored, warehouse.stock_skus(events))])[0] if stored else {}
    folded = warehouse.fold(events, stored.state if stored else None, given)
    assert folded.state is not None
    return WarehouseWrite(folded.state, warehouse.changed_stock(given, folded.stock))


def skus(n: int, start: int = 0) -> dict[str, int]:
    return {f"SKU-{i:05d}": i % 7 + 1 for i in range(start, start + n)}


def test_a_small_stock_stays_in_the_summary(tables: tuple[Any, dict[str, str]]) -> None:
    client, names = tables
    store = DynamoDBWarehouses(client, names["WarehousesTable"])
    assert store.save(write_of([received("a", 0, {"red": 4, "blue": 2})], None, store), None) is None
    stored = store.load([(M, W)])[(M, W)]
    assert stored.extra == {"stock": {"red": 4, "blue": 2}} and stored.complete and stored.version == 1
    assert store.save(write_of([received("b", 1, {"red": 1})], stored, store), stored) is None
    found = items(client, names["WarehousesTable"])
    assert list(found) == [W]  # no SKU item
    assert found[W]["stock"] == {"red": 5, "blue": 2} and (found[W]["skus"], found[W]["units"]) == (2, 7)


def test_an_outgrown_stock_moves_to_sku_items_and_then_only_changes_are_written(
    tables: tuple[Any, dict[str, str]],
) -> None:
    client, names = tables
    store = DynamoDBWarehouses(client, names["WarehousesTable"])
    store.save(write_of([received("a", 0, skus(10))], None, store), None)
    stored = store.load([(M, W)])[(M, W)]
    # 200 more SKUs: above INLINE_STOCK_BYTES, so the whole stock (the first 10 too) becomes SKU items.
    assert store.save(write_of([received("b", 1, skus(200, 10))], stored, store), stored) is None
    found = items(client, names["WarehousesTable"])
    summary = found[W]
    assert "stock" not in summary and "stock_behind" not in summary
    assert stock_of(found) == skus(210) and len(summary["pending"]) == 210
    assert {int(i["version"]) for k, i in found.items() if k != W} == {2}
    assert (summary["skus"], summary["units"]) == (210, sum(skus(210).values()))
    stored = store.load([(M, W)])[(M, W)]
    assert stored.extra == {} and stored.complete
    assert store.load_stock([(stored, ["SKU-00003", "nope"])]) == [{"SKU-00003": 4}]
    assert store.load_stock([(stored, None)]) == [skus(210)]
    store.save(write_of([received("c", 2, {"SKU-00003": 10})], stored, store), stored)
    found = items(client, names["WarehousesTable"])
    assert found[W]["pending"] == {"SKU-00003": 14} and found["w1#SKU#SKU-00003"]["version"] == 3
    assert found["w1#SKU#SKU-00004"]["version"] == 2  # untouched


def test_changes_beyond_one_pending_map_go_in_several_commits(
    tables: tuple[Any, dict[str, str]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, names = tables
    monkeypatch.setattr(layout, "PENDING_BYTES", 2000)  # ~100 SKUs per commit
    store = DynamoDBWarehouses(client, names["WarehousesTable"])
    assert store.save(write_of([received("a", 0, skus(450))], None, store), None) is None
    found = items(client, names["WarehousesTable"])
    assert stock_of(found) == skus(450)
    versions = sorted({int(i["version"]) for k, i in found.items() if k != W})
    commits = len(layout.chunks(skus(450), 2000))
    assert commits >= 3 and versions == list(range(1, commits + 1)) == list(range(1, found[W]["version"] + 1))
    assert "stock_behind" not in found[W] and store.load([(M, W)])[(M, W)].complete


def test_a_series_stopped_half_way_is_incomplete_until_a_refold_finishes_it(
    tables: tuple[Any, dict[str, str]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, names = tables
    monkeypatch.setattr(layout, "PENDING_BYTES", 2000)
    state_store = DynamoDBStateStore(client, "unused-shipments", names["WarehousesTable"])
    ingest = Ingestor(state_store, DynamoDBTimeline(client, names["TimelineTable"]), MemoryDeadLetters())
    events = [warehouse_event("received", W, f"2026-11-20T08:0{n}:00Z", M, [{"sku": f"S{n}-{i:03d}", "qty": i}
                                                                          for i in range(150)]) for n in range(3)]
    batch = [record(e, n, topic="warehouse-events") for n, e in enumerate(events)]
    commits = 0
    real_commit = state_store.warehouses._commit

    def stop_after_two(*args: Any, **kwargs: Any) -> Exception | None:
        nonlocal commits
        commits += 1
        return RuntimeError("the invocation stopped here") if commits > 2 else real_commit(*args, **kwargs)

    monkeypatch.setattr(state_store.warehouses, "_commit", stop_after_two)
    assert ingest.ingest(batch).failed == [r.id for r in batch]  # named for redelivery
    summary = items(client, names["WarehousesTable"])[W]
    assert summary["stock_behind"] is True and summary["skus"] == 450  # the state went first...
    assert len(stock_of(items(client, names["WarehousesTable"]))) < 450  # ...its stock did not all follow
    assert not state_store.load_warehouses([(M, W)])[(M, W)].complete
    monkeypatch.setattr(state_store.warehouses, "_commit", real_commit)
    assert ingest.ingest(batch).failed == []  # the redelivery re-folds and compares every SKU
    found = items(client, names["WarehousesTable"])
    expected = {f"S{n}-{i:03d}": i for n in range(3) for i in range(150)}
    assert stock_of(found) == expected and "stock_behind" not in found[W]
    assert (found[W]["skus"], found[W]["units"]) == (450, sum(expected.values()))


def test_a_copy_cut_short_is_finished_by_the_next_load(
    tables: tuple[Any, dict[str, str]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, names = tables
    store = DynamoDBWarehouses(client, names["WarehousesTable"])
    store.save(write_of([received("a", 0, skus(300))], None, store), None)
    stored = store.load([(M, W)])[(M, W)]
    write = write_of([received("b", 1, {"SKU-00001": 5, "SKU-00002": 5, "NEW": 1})], stored, store)
    real_put = store._put_stock
    monkeypatch.setattr(store, "_put_stock", lambda put: RuntimeError("gone") if put[2] != "NEW" else real_put(put))
    assert isinstance(store.save(write, stored), RuntimeError)
    found = items(client, names["WarehousesTable"])
    assert found[W]["version"] == 2 and int(found["w1#SKU#SKU-00001"]["qty"]) == 2  # committed, not copied
    monkeypatch.setattr(store, "_put_stock", real_put)
    reloaded = store.load([(M, W)])[(M, W)]
    assert store.load_stock([(reloaded, ["SKU-00001", "SKU-00002", "NEW"])]) == [
        {"SKU-00001": 7, "SKU-00002": 8, "NEW": 1}]
    assert {int(i["version"]) for k, i in items(client, names["WarehousesTable"]).items()
            if k in ("w1#SKU#SKU-00001", "w1#SKU#SKU-00002", "w1#SKU#NEW")} == {2}


def test_a_late_copy_never_undoes_a_newer_one(tables: tuple[Any, dict[str, str]]) -> None:
    client, names = tables
    store = DynamoDBWarehouses(client, names["WarehousesTable"])
    assert store._put_stock((M, W, "x", 9, 5)) is None
    assert store._put_stock((M, W, "x", 1, 3)) is None  # older: refused by the condition, not an error
    assert store._put_stock((M, W, "x", 9, 5)) is None  # the same copy twice
    item = items(client, names["WarehousesTable"])["w1#SKU#x"]
    assert (int(item["qty"]), int(item["version"])) == (9, 5)


def test_two_writers_from_the_same_read_one_wins_and_the_other_copies_nothing(
    tables: tuple[Any, dict[str, str]],
) -> None:
    client, names = tables
    store = DynamoDBWarehouses(client, names["WarehousesTable"])
    store.save(write_of([received("a", 0, skus(300))], None, store), None)
    stored = store.load([(M, W)])[(M, W)]
    first = write_of([received("b", 1, {"SKU-00001": 100})], stored, store)
    second = write_of([received("c", 1, {"SKU-00001": 1000, "SKU-00009": 1})], stored, store)
    assert store.save(first, stored) is None
    assert isinstance(store.save(second, stored), WriteConflict)
    found = items(client, names["WarehousesTable"])
    assert int(found["w1#SKU#SKU-00001"]["qty"]) == 102 and int(found["w1#SKU#SKU-00009"]["qty"]) == 3
