"""Tumbling windows on DynamoDB Local: a handler sums values per window; every record is counted once in its
window, final invocations carry the window's state and no records, and a failed invocation changes nothing."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from typing import Any

import pytest

from local_runtime.esm.dynamodb.mapping import DynamoDBStreamMapping
from local_runtime.esm.spec import MappingSpec
from tests.integration.local_runtime.esm.test_stream_mapping import FUNCTION_ARN, REGION, Table, client

WINDOW_S = 2


@pytest.fixture
def table(moto_endpoint: str) -> Table:
    return Table(moto_endpoint)


class WindowSummer:
    """Sums ``n`` per window; raises on its ``fail_on``-th invocation (before touching its state)."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.events.append(copy.deepcopy(event))
            if len(self.events) == self.fail_on:
                raise RuntimeError("transient failure")
        state = dict(event["state"])
        for r in event["Records"]:
            state["sum"] = state.get("sum", 0) + int(r["dynamodb"]["NewImage"]["n"]["N"])
            state["count"] = state.get("count", 0) + 1
        return {"state": state, "batchItemFailures": []}

    def finals(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["isFinalInvokeForWindow"]]


def test_every_record_counted_once_per_window_with_final_invocations(table: Table, moto_endpoint: str) -> None:
    handler = WindowSummer(fail_on=2)
    spec = MappingSpec(name=f"win-{uuid.uuid4().hex[:8]}", function_logical_id="LaneStats", kind="DynamoDB",
                       stream_arn=table.stream_arn, starting_position="TRIM_HORIZON", batch_size=3,
                       maximum_batching_window_s=0, tumbling_window_s=WINDOW_S)
    m = DynamoDBStreamMapping(spec, handler, client(moto_endpoint, "dynamodbstreams"), FUNCTION_ARN, region=REGION,
                              poll_interval_s=0.05, retry_backoff_s=0.01, max_retry_backoff_s=0.05,
                              window_close_delay_s=0.3)
    values = {f"p1-{i}": i + 1 for i in range(5)}
    for pk, n in values.items():
        table.put(pk, n=n)
    m.start()
    try:
        wait_for(lambda: len(handler.finals()) >= 1)
        # Written after the first window closed: these can only land in later windows.
        second = {f"p2-{i}": 100 * (i + 1) for i in range(4)}
        for pk, n in second.items():
            table.put(pk, n=n)
        values.update(second)
        wait_for(lambda: sum(e["state"].get("count", 0) for e in handler.finals()) == len(values))
    finally:
        m.stop()

    finals = handler.finals()
    assert len(finals) >= 2
    assert len({f["window"]["start"] for f in finals}) == len(finals)  # one final invocation per window
    for f in finals:
        assert f["Records"] == [] and f["isWindowTerminatedEarly"] is False
        assert f["shardId"] and f["eventSourceARN"] == table.deployed_arn
        start, end = (f["window"][k] for k in ("start", "end"))
        assert start.endswith("Z") and int(start[17:19]) % WINDOW_S == 0
        # what the window's successful invocations carried, each record once
        carried = [r for e in successful_batches(handler, f["window"]) for r in e["Records"]]
        pks = [r["dynamodb"]["Keys"]["pk"]["S"] for r in carried]
        assert len(pks) == len(set(pks)) == f["state"]["count"]
        assert f["state"]["sum"] == sum(values[pk] for pk in pks)
        assert end > start
    assert sum(f["state"]["sum"] for f in finals) == sum(values.values())
    assert m.counters.function_errors == 1  # the failed invocation was retried with the same state


def successful_batches(handler: WindowSummer, window: dict[str, str]) -> list[dict[str, Any]]:
    """The window's non-final invocations that succeeded (every one but the one that raised)."""
    out = []
    for i, e in enumerate(handler.events, start=1):
        if e["window"] == window and not e["isFinalInvokeForWindow"] and i != handler.fail_on:
            out.append(e)
    return out


def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    """Wait for the background mapping to make ``predicate`` true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)
