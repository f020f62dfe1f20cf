"""Tumbling windows of the DynamoDB Streams mapping, against an in-memory stream and a fake clock."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

from local_runtime.esm.batcher import Batcher
from local_runtime.esm.dynamodb.mapping import DynamoDBStreamMapping, MemoryCheckpointStore
from local_runtime.esm.dynamodb.shards import StreamRecord
from local_runtime.esm.dynamodb.windows import WindowedBatcher, insertion_time, iso_z, window_start
from local_runtime.esm.spec import MappingSpec

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/T/stream/2026-01-01T00:00:00.000"
SHARD = "shardId-00000001-aaaa"


class FakeStreams:
    """One shard; iterators are list positions. ``closed``: the shard ends after its last record."""

    class exceptions:
        class ExpiredIteratorException(Exception):
            pass

        class TrimmedDataAccessException(Exception):
            pass

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.closed = False

    def put(self, pk: str, value: int, created: float) -> str:
        seq = f"{len(self.records) + 1:021d}"
        self.records.append({
            "eventID": seq, "eventName": "INSERT",
            "dynamodb": {
                "ApproximateCreationDateTime": created, "Keys": {"pk": {"S": pk}},
                "NewImage": {"pk": {"S": pk}, "v": {"N": str(value)}},
                "SequenceNumber": seq, "SizeBytes": 20, "StreamViewType": "NEW_IMAGE",
            },
        })
        return seq

    def describe_stream(self, **kw: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": SHARD}]}}

    def get_shard_iterator(self, **kw: Any) -> dict[str, Any]:
        if kw["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER":
            return {"ShardIterator": str(int(kw["SequenceNumber"]))}
        return {"ShardIterator": "0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        pos = int(ShardIterator)
        page = self.records[pos:pos + Limit]
        end = pos + len(page)
        nxt = None if self.closed and end >= len(self.records) else str(end)
        return {"Records": copy.deepcopy(page), "NextShardIterator": nxt}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Summer:
    """A windowed handler: sums ``v`` per window into its state; ``fail`` decides per event what goes wrong."""

    def __init__(self, fail: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(copy.deepcopy(event))
        if self.fail is not None and (answer := self.fail(event, len(self.events))) is not None:
            if isinstance(answer, Exception):
                raise answer
            return answer
        state = dict(event["state"])
        for r in event["Records"]:
            state["sum"] = state.get("sum", 0) + int(r["dynamodb"]["NewImage"]["v"]["N"])
            state["n"] = state.get("n", 0) + 1
        return {"state": state, "batchItemFailures": []}

    def finals(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["isFinalInvokeForWindow"]]

    def batches(self) -> list[dict[str, Any]]:
        return [e for e in self.events if not e["isFinalInvokeForWindow"]]


def make(stream: FakeStreams, handler: Any, clock: Clock, **spec_kw: Any) -> DynamoDBStreamMapping:
    kw: dict[str, Any] = {"name": "agg", "function_logical_id": "Agg", "kind": "DynamoDB", "stream_arn": ARN,
                          "starting_position": "TRIM_HORIZON", "batch_size": 100, "maximum_batching_window_s": 0,
                          "tumbling_window_s": 10}
    store = spec_kw.pop("checkpoint_store", None)
    kw.update(spec_kw)
    return DynamoDBStreamMapping(MappingSpec(**kw), handler, stream, region="eu-west-1", retry_backoff_s=0.0,
                                 max_retry_backoff_s=0.0, window_close_delay_s=1.0, clock=clock,
                                 checkpoint_store=store)


# ------------------------------------------------------------------------------------------ pure parts


def test_window_start_is_epoch_aligned() -> None:
    assert window_start(1009.9, 10) == 1000 and window_start(1010, 10) == 1010
    assert window_start(7 * 3600 + 5 * 60 + 1, 120) == 7 * 3600 + 4 * 60
    assert iso_z(1_596_128_400) == "2020-07-30T17:00:00Z"


def test_insertion_time_stays_inside_the_rounding_interval() -> None:
    assert insertion_time(1001.0, 5000.0) == pytest.approx(1001.999)  # second-rounded, read late
    assert insertion_time(960.0, 975.5) == 975.5  # minute-rounded (DynamoDB Local), read live
    assert insertion_time(960.0, 5000.0) == pytest.approx(1019.999)  # minute-rounded, read late
    assert insertion_time(None, 42.0) == 42.0


def test_windowed_batcher_never_mixes_windows() -> None:
    def rec(w: int) -> StreamRecord:
        return StreamRecord(record={}, size=10, arrived=time.monotonic(), seq=w, window_start=w)

    b = WindowedBatcher(100, 60.0)
    b.add(rec(0))
    b.add(rec(0))
    assert not b.due()  # one window, batching window still open
    b.add(rec(10))
    assert b.due()
    assert [r.window_start for r in b.take()] == [0, 0]
    assert [r.window_start for r in b.take()] == [10]
    plain = Batcher[StreamRecord](100, 60.0)
    plain.add(rec(0))
    plain.add(rec(10))
    assert not plain.due()


# ------------------------------------------------------------------------------------------ the mapping


def test_windows_events_finals_and_checkpoints() -> None:
    stream, clock, h = FakeStreams(), Clock(1013.0), Summer()
    seqs = [stream.put("a", 1, 1001), stream.put("b", 2, 1003), stream.put("a", 4, 1009), stream.put("c", 8, 1012)]
    m = make(stream, h, clock)
    m.run_until(lambda: len(h.events) >= 3)
    first, final, second = h.events
    assert [r["dynamodb"]["SequenceNumber"] for r in first["Records"]] == seqs[:3]
    assert {k: first[k] for k in ("window", "state", "shardId", "eventSourceARN", "isFinalInvokeForWindow",
                                   "isWindowTerminatedEarly")} == {
        "window": {"start": "1970-01-01T00:16:40Z", "end": "1970-01-01T00:16:50Z"}, "state": {},
        "shardId": SHARD, "eventSourceARN": ARN, "isFinalInvokeForWindow": False, "isWindowTerminatedEarly": False}
    assert list(first) == ["Records", "window", "state", "shardId", "eventSourceARN", "isFinalInvokeForWindow",
                           "isWindowTerminatedEarly"]
    assert final["Records"] == [] and final["isFinalInvokeForWindow"] is True
    assert final["state"] == {"sum": 7, "n": 3} and final["window"] == first["window"]
    assert second["window"]["start"] == "1970-01-01T00:16:50Z" and second["state"] == {}
    assert m.checkpoints()[SHARD] == seqs[2]  # the closed window only; the open one is not checkpointed
    m.poll_once()
    assert len(h.finals()) == 1  # 1020 + 1 s not reached
    clock.now = 1021.5
    m.run_until(lambda: len(h.finals()) == 2)
    assert h.finals()[1]["state"] == {"sum": 8, "n": 1}
    assert m.checkpoints()[SHARD] == seqs[3]
    assert m.status()["windows"] == {}


def test_response_without_state_is_a_failed_invocation_retried_with_the_same_state() -> None:
    stream, clock = FakeStreams(), Clock(1013.0)
    h = Summer(fail=lambda e, n: {"batchItemFailures": []} if n == 2 else None)
    stream.put("a", 1, 1001)
    m = make(stream, h, clock, batch_size=1)
    stream.put("a", 2, 1002)
    m.run_until(lambda: len(h.batches()) == 3)
    assert [e["state"] for e in h.batches()] == [{}, {"sum": 1, "n": 1}, {"sum": 1, "n": 1}]
    assert m.counters.failures == 1 and m.counters.function_errors == 0
    clock.now = 1030
    m.run_until(lambda: bool(h.finals()))
    assert h.finals()[0]["state"] == {"sum": 3, "n": 2}


def test_function_error_keeps_the_state_and_counts_each_record_once() -> None:
    stream, clock = FakeStreams(), Clock(1013.0)
    h = Summer(fail=lambda e, n: RuntimeError("boom") if n in (2, 3) else None)
    for i in range(4):
        stream.put("k", 10**i, 1001 + i)
    m = make(stream, h, clock, batch_size=2, bisect_batch_on_function_error=True)
    clock.now = 1030
    m.run_until(lambda: bool(h.finals()))
    assert h.finals()[0]["state"] == {"sum": 1111, "n": 4}
    assert m.counters.function_errors == 2
    # the bisected halves carried the state of the last successful invocation
    assert [len(e["Records"]) for e in h.batches()] == [2, 2, 1, 1, 1]


def test_partial_batch_response_keeps_the_returned_state_and_retries_the_rest() -> None:
    stream, clock = FakeStreams(), Clock(1013.0)
    seqs = [stream.put("k", v, 1001) for v in (1, 2, 4)]

    def fail(event: dict[str, Any], n: int) -> Any:
        if n == 1:  # processed the first record, the second failed
            return {"state": {"sum": 1, "n": 1}, "batchItemFailures": [{"itemIdentifier": seqs[1]}]}
        return None

    h = Summer(fail=fail)
    m = make(stream, h, clock, report_batch_item_failures=True)
    clock.now = 1030
    m.run_until(lambda: bool(h.finals()))
    retry = h.batches()[1]
    assert [r["dynamodb"]["SequenceNumber"] for r in retry["Records"]] == seqs[1:]
    assert retry["state"] == {"sum": 1, "n": 1}
    assert h.finals()[0]["state"] == {"sum": 7, "n": 3}


def test_final_invocation_is_retried_until_it_succeeds_and_holds_the_checkpoint() -> None:
    stream, clock = FakeStreams(), Clock(1030.0)
    attempts = []

    def fail(event: dict[str, Any], n: int) -> Any:
        if event["isFinalInvokeForWindow"]:
            attempts.append(n)
            if len(attempts) == 1:
                return RuntimeError("final failed")
            if len(attempts) == 2:
                return {"no": "state"}
        return None

    h = Summer(fail=fail)
    seq = stream.put("a", 5, 1001)
    m = make(stream, h, clock, maximum_retry_attempts=0)
    m.run_until(lambda: len(attempts) == 3)
    assert [e["state"] for e in h.finals()] == [{"sum": 5, "n": 1}] * 3
    assert m.checkpoints()[SHARD] == seq and m.counters.failures == 2


def test_state_over_one_megabyte_ends_the_window_early() -> None:
    stream, clock = FakeStreams(), Clock(1013.0)
    big = "x" * (1024 * 1024)
    h = Summer(fail=lambda e, n: {"state": {"blob": big}} if n == 1 else None)
    stream.put("a", 1, 1001)
    stream.put("a", 2, 1002)
    m = make(stream, h, clock, batch_size=1)
    m.run_until(lambda: len(h.events) >= 3)
    first, early, second = h.events[:3]
    assert early["isFinalInvokeForWindow"] and early["isWindowTerminatedEarly"] and early["Records"] == []
    assert early["state"] == {"blob": big} and early["window"] == first["window"]
    assert second["window"] == first["window"] and second["state"] == {}
    assert not second["isWindowTerminatedEarly"]


def test_shard_end_closes_the_window() -> None:
    stream, clock, h = FakeStreams(), Clock(1002.0), Summer()
    stream.put("a", 3, 1001)
    stream.closed = True
    m = make(stream, h, clock)
    m.run_until(lambda: bool(h.finals()))
    assert h.finals()[0]["state"] == {"sum": 3, "n": 1}
    assert not h.finals()[0]["isWindowTerminatedEarly"]


def test_restart_mid_window_replays_the_window_with_a_fresh_state() -> None:
    stream, clock, store = FakeStreams(), Clock(1013.0), MemoryCheckpointStore()
    seqs = [stream.put("a", 1, 1001), stream.put("a", 2, 1002), stream.put("a", 4, 1011)]
    first = Summer()
    m = make(stream, first, clock, batch_size=1, checkpoint_store=store)
    m.run_until(lambda: len(first.batches()) == 2)  # window 1000 open, its two records invoked
    m.stop()
    assert m.checkpoints()[SHARD] is None and not first.finals()
    again = Summer()
    m2 = make(stream, again, clock, batch_size=1, checkpoint_store=store)
    m2.run_until(lambda: bool(again.finals()))
    assert [r["dynamodb"]["SequenceNumber"] for e in again.batches() for r in e["Records"]][:2] == seqs[:2]
    assert again.finals()[0]["state"] == {"sum": 3, "n": 2}
    assert json.loads(json.dumps(store.data))  # plain JSON, as the file store writes it
    assert m2.checkpoints()[SHARD] == seqs[1]
