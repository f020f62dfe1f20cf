"""AWS's error handling for stream-style mappings (Kafka and DynamoDB Streams), in one place.

For the head batch of a work queue, one :meth:`BatchExecutor.step` checks record ages, checks the
payload size, invokes the function and handles the outcome: success, a partial batch response
(``ReportBatchItemFailures``), or a function error with ``BisectBatchOnFunctionError``,
``MaximumRetryAttempts`` and exponential backoff. Batches that are given up are handed to the source's
``dispose`` (on-failure destination or discard). The rules are described in docs/AWS_EVENT_SOURCES.md.

While the head batch is being retried nothing behind it is invoked: no later record runs before an
earlier failing one is resolved.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from local_runtime.esm.counters import MappingCounters
from local_runtime.esm.on_failure import (
    CONDITION_PAYLOAD_TOO_LARGE,
    CONDITION_RECORD_AGE_EXCEEDED,
    CONDITION_RETRIES_EXHAUSTED,
    FailureFields,
)
from local_runtime.esm.payload import MAX_PAYLOAD_BYTES, event_payload_size
from local_runtime.esm.records import PendingRecord
from local_runtime.esm.responses import MalformedBatchResponse
from local_runtime.esm.spec import MappingSpec

__all__ = ["INFINITE_RETRY_CAP_WITH_DESTINATION", "BatchExecutor", "Work", "effective_max_retries"]

log = logging.getLogger(__name__)

# With infinite retries and an on-failure destination AWS caps Kafka retries at 10.
INFINITE_RETRY_CAP_WITH_DESTINATION = 10

R = TypeVar("R", bound=PendingRecord)


def effective_max_retries(spec: MappingSpec, *, cap_infinite_with_destination: bool) -> int:
    """``MaximumRetryAttempts`` as enforced: -1 means infinite unless capped (Kafka + destination)."""
    if spec.maximum_retry_attempts < 0:
        if cap_infinite_with_destination and spec.on_failure is not None:
            return INFINITE_RETRY_CAP_WITH_DESTINATION
        return -1
    return spec.maximum_retry_attempts


@dataclass(eq=False)
class Work(Generic[R]):
    """A batch being invoked or retried."""

    records: list[R]
    failures: int = 0  # failed invocations counted towards MaximumRetryAttempts
    invocations: int = 0  # invocations of this batch (and of the batch it was bisected from)
    last_request_id: str | None = None
    # Set when the batch must go to the destination: kept so a failed write is retried alone.
    disposal: tuple[str, int, str | None] | None = None  # (condition, statusCode, functionError)


@dataclass(frozen=True)
class SourceHooks(Generic[R]):
    """What the executor needs from a source.

    ``build_event`` makes the invocation event of records; ``remaining_after_partial`` reads a partial
    batch response and returns the records to retry (empty: no failure; raises
    :class:`MalformedBatchResponse` for a response AWS would reject); ``record_time_ms`` is a record's
    creation time in epoch milliseconds (``None``: unknown, never too old); ``dispose`` sends records to
    the on-failure destination or discards them, marks them resolved, and raises when the destination
    is down (the records stay unresolved and disposal is retried).
    """

    build_event: Callable[[list[R]], dict[str, Any]]
    remaining_after_partial: Callable[[Any, list[R]], list[R]]
    record_time_ms: Callable[[R], float | None]
    dispose: Callable[[list[R], FailureFields], None]


class BatchExecutor(Generic[R]):
    """Advances a queue of :class:`Work` one invocation at a time with AWS's retry rules."""

    def __init__(
        self,
        *,
        name: str,
        spec: MappingSpec,
        invoke: Callable[[dict[str, Any]], Any],
        hooks: SourceHooks[R],
        counters: MappingCounters,
        max_retries: int,
        stop: threading.Event,
        backoff: tuple[float, float],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``invoke`` returns the handler's response; any exception it raises is a function error.
        ``max_retries`` is -1 for infinite (see :func:`effective_max_retries`). ``backoff`` is (first
        delay, maximum delay) in seconds; ``stop`` ends a backoff early. ``clock`` gives epoch seconds."""
        self.name = name
        self.spec = spec
        self.counters = counters
        self.max_retries = max_retries
        self._invoke = invoke
        self._hooks = hooks
        self._stop = stop
        self._backoff = backoff
        self._clock = clock

    def sleep_backoff(self, failures: int) -> None:
        """Wait before a retry (exponential, capped); returns early when the mapping stops."""
        base, cap = self._backoff
        delay = min(base * (2 ** max(0, failures - 1)), cap)
        if delay > 0:
            self._stop.wait(delay)

    def _try_dispose(self, records: list[R], work: Work[R], condition: str, status: int, ferr: str | None) -> bool:
        fields: FailureFields = {
            "condition": condition,
            "approximate_invoke_count": work.invocations,
            "status_code": status,
            "function_error": ferr,
            "request_id": work.last_request_id,
        }
        # A destination error leaves the records unresolved (retried after a backoff): AWS does not
        # drop records because the destination is down.
        try:
            self._hooks.dispose(records, fields)
        except Exception as exc:
            self.counters.destination_errors += 1
            self.counters.last_error = f"on-failure destination: {type(exc).__name__}: {exc}"
            log.warning("%s: %s", self.name, self.counters.last_error)
            self.sleep_backoff(self.counters.destination_errors)
            return False
        return True

    @staticmethod
    def _split(queue: deque[Work[R]], work: Work[R]) -> None:
        half = len(work.records) // 2
        queue.popleft()
        queue.extendleft(
            [
                Work(work.records[half:], work.failures, invocations=work.invocations),
                Work(work.records[:half], work.failures, invocations=work.invocations),
            ]
        )

    def _drop_expired(self, queue: deque[Work[R]], work: Work[R]) -> bool:
        """Dispose of records older than ``MaximumRecordAgeInSeconds``; False when ``work`` is done
        for this step (its records all expired, or the destination is down)."""
        limit_ms = (self._clock() - self.spec.maximum_record_age_s) * 1000
        expired = []
        for r in work.records:
            t = self._hooks.record_time_ms(r)
            if t is not None and 0 <= t < limit_ms:
                expired.append(r)
        if not expired:
            return True
        if not self._try_dispose(expired, work, CONDITION_RECORD_AGE_EXCEEDED, 200, None):
            return False
        work.records = [r for r in work.records if not r.resolved]
        if not work.records:
            queue.popleft()
            return False
        return True

    def step(self, queue: deque[Work[R]]) -> None:
        """Advance ``queue[0]`` by one invocation (or one disposal); pops it once it is resolved."""
        work = queue[0]
        if work.disposal is not None:
            if self._try_dispose(work.records, work, *work.disposal):
                queue.popleft()
            return
        if self.spec.maximum_record_age_s >= 0 and not self._drop_expired(queue, work):
            return

        event = self._hooks.build_event(work.records)
        if event_payload_size(event) > MAX_PAYLOAD_BYTES:
            if len(work.records) > 1:
                self._split(queue, work)
                return
            # One record larger than Lambda's payload limit can never be invoked.
            work.disposal = (CONDITION_PAYLOAD_TOO_LARGE, 413, None)
            self.step(queue)
            return

        error, remaining = self._invoke_once(work, event)
        if error is None and not remaining:
            for r in work.records:
                r.resolved = True
            self.counters.records_delivered += len(work.records)
            queue.popleft()
            return
        self._failed(queue, work, error, remaining)

    def _invoke_once(self, work: Work[R], event: dict[str, Any]) -> tuple[BaseException | None, list[R]]:
        """Invoke the function with ``event``: (the error, if any; the records a partial response left)."""
        work.last_request_id = str(uuid.uuid4())
        work.invocations += 1
        self.counters.invocations += 1
        self.counters.records_invoked += len(work.records)
        self.counters.last_invoke_at = self._clock()
        if (newest := self._hooks.record_time_ms(work.records[-1])) is not None and newest >= 0:
            self.counters.iterator_age_ms = max(0, int(self._clock() * 1000 - newest))
        try:
            # A fresh JSON document per invocation, as Lambda sends: the handler may mutate its event
            # (Powertools' parser does, turning header lists into bytes) without touching our copy.
            response = self._invoke(json.loads(json.dumps(event)))
        except Exception as exc:
            return exc, []
        if not self.spec.report_batch_item_failures:
            return None, []
        try:
            return None, self._hooks.remaining_after_partial(response, work.records)
        except MalformedBatchResponse as exc:
            return exc, []

    def _failed(self, queue: deque[Work[R]], work: Work[R], error: BaseException | None, remaining: list[R]) -> None:
        """A failed invocation: resolve what a partial response completed, bisect, retry or give up."""
        self.counters.failures += 1
        self.counters.records_failed_invoke += len(work.records)
        function_error: str | None = None
        if error is None:
            # Partial failure: what precedes the failed records is done (committed / checkpointed).
            self.counters.partial_failures += 1
            keep = {id(r) for r in remaining}
            done = [r for r in work.records if id(r) not in keep]
            for r in done:
                r.resolved = True
            self.counters.records_delivered += len(done)
            work.records = list(remaining)
            self.counters.last_error = f"partial batch failure: {len(remaining)} record(s) to retry"
        else:
            is_function_error = not isinstance(error, MalformedBatchResponse)
            if is_function_error:
                self.counters.function_errors += 1
                function_error = "Unhandled"
            self.counters.last_error = f"{type(error).__name__}: {error}"
            log.info("%s: batch of %d failed: %s", self.name, len(work.records), self.counters.last_error)
            if is_function_error and self.spec.bisect_batch_on_function_error and len(work.records) > 1:
                # Splitting does not count towards the retry quota (AWS).
                self._split(queue, work)
                return

        work.failures += 1
        if 0 <= self.max_retries < work.failures:
            work.disposal = (CONDITION_RETRIES_EXHAUSTED, 200, function_error)
            self.step(queue)
            return
        self.counters.retries += 1
        self.sleep_backoff(work.failures)
