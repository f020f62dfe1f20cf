"""ParallelizationFactor lanes of the DynamoDB Streams mapping, against an in-memory stream."""

from __future__ import annotations

import threading
from typing import Any

from local_runtime.esm.dynamodb.lanes import lane_of
from local_runtime.esm.dynamodb.mapping import DynamoDBStreamMapping, MemoryCheckpointStore
from local_runtime.esm.spec import MappingSpec
from tests.unit.local_runtime.esm.test_windows import ARN, SHARD, FakeStreams


def keys_in_lanes(factor: int) -> tuple[str, str]:
    """Two item keys that land in different lanes."""
    first = "k0"
    other = next(f"k{i}" for i in range(1, 100) if lane_of({"pk": {"S": f"k{i}"}}, factor)
                 != lane_of({"pk": {"S": first}}, factor))
    return first, other


def make(stream: FakeStreams, handler: Any, **kw: Any) -> DynamoDBStreamMapping:
    store = kw.pop("checkpoint_store", None)
    spec = MappingSpec(name="par", function_logical_id="F", kind="DynamoDB", stream_arn=ARN,
                       starting_position="TRIM_HORIZON", batch_size=2, maximum_batching_window_s=0,
                       parallelization_factor=2, **kw)
    return DynamoDBStreamMapping(spec, handler, stream, region="eu-west-1", retry_backoff_s=0.0,
                                 max_retry_backoff_s=0.0, checkpoint_store=store)


def pks(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]


def test_lane_of_is_stable_and_keyed_on_the_whole_item_key() -> None:
    a = {"pk": {"S": "x"}, "sk": {"S": "1"}}
    assert lane_of(a, 10) == lane_of({"sk": {"S": "1"}, "pk": {"S": "x"}}, 10)
    assert {lane_of({"pk": {"S": "x"}, "sk": {"S": str(i)}}, 10) for i in range(50)} != {lane_of(a, 10)}
    assert lane_of(a, 1) == 0


def test_two_lanes_invoke_concurrently_each_key_in_order() -> None:
    a, b = keys_in_lanes(2)
    stream = FakeStreams()
    for i in range(6):
        stream.put(a, i, 1001)
        stream.put(b, i, 1001)
    # Each invocation waits for another one to be running: without two batches in flight this times out.
    barrier = threading.Barrier(2, timeout=20)
    events: list[dict[str, Any]] = []
    lock = threading.Lock()

    def handler(event: dict[str, Any]) -> None:
        with lock:
            events.append(event)
        barrier.wait()

    m = make(stream, handler)
    m.run_until(lambda: m.counters.records_delivered == 12, timeout=60)
    assert m.counters.function_errors == 0
    for key in (a, b):
        mine = [e for e in events if pks(e) and pks(e)[0] == key]
        values = [int(r["dynamodb"]["NewImage"]["v"]["N"]) for e in mine for r in e["Records"]]
        assert values == list(range(6))
        assert all(set(pks(e)) == {key} for e in mine)  # one lane per key: batches never mix these two
    assert m.checkpoints()[SHARD] == stream.records[-1]["dynamodb"]["SequenceNumber"]


def test_checkpoint_stops_at_the_lowest_unfinished_record_across_lanes() -> None:
    a, b = keys_in_lanes(2)
    stream = FakeStreams()
    seqs: dict[str, list[str]] = {a: [], b: []}
    for i in range(3):
        seqs[a].append(stream.put(a, i, 1001))
        seqs[b].append(stream.put(b, i, 1001))
    store = MemoryCheckpointStore()
    stuck_seq = seqs[b][1]

    def failing(event: dict[str, Any]) -> Any:
        ids = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        return {"batchItemFailures": [{"itemIdentifier": stuck_seq}]} if stuck_seq in ids else None

    m = make(stream, failing, checkpoint_store=store, report_batch_item_failures=True)
    m.run_until(lambda: m.counters.records_delivered == 4 and m.counters.partial_failures >= 3, timeout=30)
    m.stop()
    # lane a finished, lane b is stuck at its second record: the shard is checkpointed just before it
    order = [r["dynamodb"]["SequenceNumber"] for r in stream.records]
    assert m.checkpoints()[SHARD] == order[order.index(stuck_seq) - 1]

    seen: list[str] = []
    m2 = make(stream, lambda e: seen.extend(r["dynamodb"]["SequenceNumber"] for r in e["Records"]),
              checkpoint_store=store, report_batch_item_failures=True)
    m2.run_until(lambda: m2.counters.records_delivered >= 3, timeout=30)
    assert sorted(seen) == order[order.index(stuck_seq):]  # from the checkpoint on, nothing before it
    assert m2.checkpoints()[SHARD] == order[-1]
