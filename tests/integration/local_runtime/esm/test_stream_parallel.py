"""ParallelizationFactor on DynamoDB Local: two items' changes are invoked concurrently (two lanes), each
item's changes in sequence order, and the checkpoint lets a restarted mapping resume without repeats."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from local_runtime.esm.dynamodb.lanes import lane_of
from local_runtime.esm.dynamodb.mapping import DynamoDBStreamMapping, JsonFileCheckpointStore
from local_runtime.esm.spec import MappingSpec
from tests.integration.local_runtime.esm.test_stream_mapping import FUNCTION_ARN, REGION, Table, client


@pytest.fixture
def table(moto_endpoint: str) -> Table:
    return Table(moto_endpoint)


class Lanes:
    """Records each invocation; every invocation waits until another one is running too (a barrier), so
    the batches can only complete if two are in flight at once."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=30)
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.use_barrier = True

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(event)
        if self.use_barrier:
            self.barrier.wait()

    def values(self, key: str) -> list[int]:
        return [int(r["dynamodb"]["NewImage"]["n"]["N"]) for e in self.events for r in e["Records"]
                if r["dynamodb"]["Keys"]["pk"]["S"] == key]


def mapping(table: Table, handler: Any, moto_endpoint: str, store: JsonFileCheckpointStore) -> DynamoDBStreamMapping:
    # The same name and function each time: a restarted mapping finds its checkpoints under its UUID.
    spec = MappingSpec(name="parallel", function_logical_id=f"F{table.name}", kind="DynamoDB",
                       stream_arn=table.stream_arn, starting_position="TRIM_HORIZON", batch_size=2,
                       maximum_batching_window_s=0, parallelization_factor=2)
    return DynamoDBStreamMapping(spec, handler, client(moto_endpoint, "dynamodbstreams"), FUNCTION_ARN, region=REGION,
                                 checkpoint_store=store, retry_backoff_s=0.01, max_retry_backoff_s=0.05)


def test_two_keys_concurrently_in_order_and_checkpoint_after_restart(
        table: Table, moto_endpoint: str, tmp_path: Path) -> None:
    a = "item-a"
    b = next(f"item-b{i}" for i in range(100)
             if lane_of({"pk": {"S": f"item-b{i}"}}, 2) != lane_of({"pk": {"S": a}}, 2))
    for i in range(6):  # interleaved in the stream: a0 b0 a1 b1 ...
        table.put(a, n=i)
        table.put(b, n=i)
    store = JsonFileCheckpointStore(tmp_path / "checkpoints.json")
    handler = Lanes(parties=2)
    m = mapping(table, handler, moto_endpoint, store)
    m.run_until(lambda: m.counters.records_delivered == 12, timeout=120)
    m.stop()
    assert m.counters.function_errors == 0  # no barrier timed out: two batches were always in flight together
    assert handler.values(a) == list(range(6)) and handler.values(b) == list(range(6))
    assert all(len({r["dynamodb"]["Keys"]["pk"]["S"] for r in e["Records"]}) == 1 for e in handler.events)
    ((_, checkpoint),) = m.checkpoints().items()
    assert checkpoint == max((r["dynamodb"]["SequenceNumber"] for e in handler.events for r in e["Records"]), key=int)

    table.put(a, n=6)
    table.put(b, n=6)
    again = Lanes(parties=2)
    m2 = mapping(table, again, moto_endpoint, store)
    m2.run_until(lambda: m2.counters.records_delivered == 2, timeout=120)
    m2.stop()
    assert again.values(a) == [6] and again.values(b) == [6]  # resumed after the checkpoint: nothing repeated
