"""The executor's contract (local_runtime.esm.executor) with a fake invoke and a fake source: success,
retries, bisect, partial batch responses, record age, payload size and on-failure disposal."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest

from local_runtime.esm.counters import MappingCounters
from local_runtime.esm.executor import (
    INFINITE_RETRY_CAP_WITH_DESTINATION,
    BatchExecutor,
    SourceHooks,
    Work,
    effective_max_retries,
)
from local_runtime.esm.on_failure import FailureFields
from local_runtime.esm.payload import MAX_PAYLOAD_BYTES
from local_runtime.esm.records import PendingRecord
from local_runtime.esm.responses import MalformedBatchResponse, batch_item_identifiers
from local_runtime.esm.spec import MappingSpec, OnFailureDestination

NOW = 1_800_000_000.0  # the fake epoch clock


def spec(**kw: Any) -> MappingSpec:
    return MappingSpec(name="ev", function_logical_id="F", kind="DynamoDB", **kw)


def rec(name: str, created_s: float | None = NOW, body: str = "") -> PendingRecord:
    return PendingRecord(record={"id": name, "created": created_s, "body": body}, size=1, arrived=0.0)


@dataclass
class Source:
    """A fake source: events list record ids, identifiers are record ids, disposals are recorded."""

    destination_down: bool = False
    disposed: list[tuple[list[str], FailureFields]] = field(default_factory=list)

    def build_event(self, records: list[PendingRecord]) -> dict[str, Any]:
        return {"Records": [r.record for r in records]}

    def remaining_after_partial(self, response: Any, records: list[PendingRecord]) -> list[PendingRecord]:
        ids = [r.record["id"] for r in records]
        failed = batch_item_identifiers(response)
        for ident in failed:
            if ident not in ids:
                raise MalformedBatchResponse(ident)
        return records[min(ids.index(i) for i in failed) :] if failed else []

    def record_time_ms(self, r: PendingRecord) -> float | None:
        created = r.record["created"]
        return None if created is None else created * 1000

    def dispose(self, records: list[PendingRecord], fields: FailureFields) -> None:
        if self.destination_down:
            raise ConnectionError("destination down")
        self.disposed.append(([r.record["id"] for r in records], fields))
        for r in records:
            r.resolved = True


class Function:
    """A fake invoke: records the ids of every call; ``answer(ids)`` returns a response or raises."""

    def __init__(self, answer: Any = None) -> None:
        self.calls: list[list[str]] = []
        self.answer = answer

    def __call__(self, event: dict[str, Any]) -> Any:
        ids = [r["id"] for r in event["Records"]]
        self.calls.append(ids)
        return self.answer(ids) if self.answer else None


def executor(s: MappingSpec, fn: Function, source: Source, max_retries: int = -1) -> BatchExecutor[PendingRecord]:
    hooks = SourceHooks(source.build_event, source.remaining_after_partial, source.record_time_ms, source.dispose)
    return BatchExecutor(
        name="ev",
        spec=s,
        invoke=fn,
        hooks=hooks,
        counters=MappingCounters(),
        max_retries=max_retries,
        stop=threading.Event(),
        backoff=(0.0, 0.0),
        clock=lambda: NOW,
    )


def run(ex: BatchExecutor[PendingRecord], records: list[PendingRecord], max_steps: int = 50) -> None:
    queue: deque[Work[PendingRecord]] = deque([Work(records)])
    for _ in range(max_steps):
        if not queue:
            return
        ex.step(queue)
    raise AssertionError("queue not drained")


def fail_on(*bad: str) -> Any:
    def answer(ids: list[str]) -> None:
        if any(i in bad for i in ids):
            raise RuntimeError("boom")

    return answer


def test_success_resolves_the_batch_with_one_invocation() -> None:
    fn, source = Function(), Source()
    ex = executor(spec(), fn, source)
    records = [rec("a"), rec("b")]
    run(ex, records)
    assert fn.calls == [["a", "b"]]
    assert all(r.resolved for r in records)
    assert (ex.counters.invocations, ex.counters.records_delivered, ex.counters.failures) == (1, 2, 0)


def test_function_errors_retry_then_go_to_the_destination() -> None:
    fn, source = Function(fail_on("a")), Source()
    ex = executor(spec(maximum_retry_attempts=2), fn, source, max_retries=2)
    run(ex, [rec("a"), rec("b")])
    assert fn.calls == [["a", "b"]] * 3  # the first attempt and two retries
    [(ids, fields)] = source.disposed
    assert ids == ["a", "b"]
    assert fields["condition"] == "RetryAttemptsExhausted"
    assert fields["approximate_invoke_count"] == 3
    assert (fields["status_code"], fields["function_error"]) == (200, "Unhandled")
    assert fields["request_id"] is not None
    assert (ex.counters.retries, ex.counters.function_errors, ex.counters.failures) == (2, 3, 3)


def test_bisect_halves_failing_batches_without_counting_retries() -> None:
    fn, source = Function(fail_on("c")), Source()
    ex = executor(spec(bisect_batch_on_function_error=True), fn, source, max_retries=0)
    records = [rec(x) for x in "abcd"]
    run(ex, records)
    assert fn.calls == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"], ["c"], ["d"]]
    assert [ids for ids, _ in source.disposed] == [["c"]]
    assert source.disposed[0][1]["approximate_invoke_count"] == 3  # c was in three invocations
    assert ex.counters.records_delivered == 3 and all(r.resolved for r in records)


def test_partial_response_resolves_the_records_before_the_first_failure() -> None:
    responses = iter([{"batchItemFailures": [{"itemIdentifier": "c"}]}, None])
    fn, source = Function(lambda ids: next(responses)), Source()
    ex = executor(spec(report_batch_item_failures=True), fn, source)
    records = [rec(x) for x in "abcd"]
    run(ex, records)
    assert fn.calls == [["a", "b", "c", "d"], ["c", "d"]]
    assert (ex.counters.partial_failures, ex.counters.records_delivered, ex.counters.retries) == (1, 4, 1)


def test_partial_response_is_ignored_without_report_batch_item_failures() -> None:
    fn, source = Function(lambda ids: {"batchItemFailures": [{"itemIdentifier": "c"}]}), Source()
    ex = executor(spec(), fn, source)
    run(ex, [rec("c")])
    assert fn.calls == [["c"]] and ex.counters.failures == 0


def test_malformed_response_fails_the_whole_batch_and_is_not_bisected() -> None:
    fn, source = Function(lambda ids: {"batchItemFailures": [{"itemIdentifier": "zz"}]}), Source()
    ex = executor(spec(report_batch_item_failures=True, bisect_batch_on_function_error=True), fn, source, 1)
    run(ex, [rec("a"), rec("b")])
    assert fn.calls == [["a", "b"], ["a", "b"]]
    [(ids, fields)] = source.disposed
    assert ids == ["a", "b"] and fields["function_error"] is None  # not an unhandled function error
    assert ex.counters.function_errors == 0 and ex.counters.failures == 2


def test_records_older_than_the_maximum_age_are_disposed_before_invoking() -> None:
    fn, source = Function(), Source()
    ex = executor(spec(maximum_record_age_s=60), fn, source)
    run(ex, [rec("old", created_s=NOW - 61), rec("new", created_s=NOW - 59), rec("unknown", created_s=None)])
    assert fn.calls == [["new", "unknown"]]
    [(ids, fields)] = source.disposed
    assert ids == ["old"]
    assert (fields["condition"], fields["approximate_invoke_count"], fields["function_error"]) == (
        "RecordAgeExceeded",
        0,
        None,
    )


def test_an_oversized_batch_is_split_and_an_oversized_record_disposed() -> None:
    fn, source = Function(), Source()
    ex = executor(spec(), fn, source)
    big = "x" * (MAX_PAYLOAD_BYTES // 2 + 1)
    run(ex, [rec("a", body=big), rec("b", body=big), rec("huge", body=big * 2)])
    assert fn.calls == [["a"], ["b"]]
    [(ids, fields)] = source.disposed
    assert ids == ["huge"]
    assert (fields["condition"], fields["status_code"]) == ("MaximumPayloadSizeExceeded", 413)


def test_a_destination_outage_keeps_records_unresolved_and_retries_the_disposal_alone() -> None:
    fn, source = Function(fail_on("a")), Source(destination_down=True)
    ex = executor(spec(), fn, source, max_retries=0)
    records = [rec("a")]
    queue: deque[Work[PendingRecord]] = deque([Work(records)])
    ex.step(queue)
    assert queue and not records[0].resolved and ex.counters.destination_errors == 1
    ex.step(queue)  # the function is not invoked again, only the disposal is retried
    assert fn.calls == [["a"]] and ex.counters.destination_errors == 2
    source.destination_down = False
    ex.step(queue)
    assert not queue and records[0].resolved and source.disposed[0][0] == ["a"]


@pytest.mark.parametrize(
    ("attempts", "destination", "cap", "expected"),
    [
        (-1, None, True, -1),
        (-1, OnFailureDestination("sqs", "arn:aws:sqs:eu-west-1:1:q"), True, INFINITE_RETRY_CAP_WITH_DESTINATION),
        (-1, OnFailureDestination("sqs", "arn:aws:sqs:eu-west-1:1:q"), False, -1),
        (3, OnFailureDestination("sqs", "arn:aws:sqs:eu-west-1:1:q"), True, 3),
    ],
)
def test_effective_max_retries(
    attempts: int, destination: OnFailureDestination | None, cap: bool, expected: int
) -> None:
    s = spec(maximum_retry_attempts=attempts, on_failure=destination)
    assert effective_max_retries(s, cap_infinite_with_destination=cap) == expected
