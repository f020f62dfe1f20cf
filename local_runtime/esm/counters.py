"""The counters a mapping keeps for status displays and tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["MappingCounters"]


@dataclass
class MappingCounters:
    """Counters for a status display. Plain ints, updated by the polling thread only."""

    invocations: int = 0  # calls of the function
    records_polled: int = 0  # records read from the source (PolledEventCount)
    records_invoked: int = 0  # records handed to the function (a retried record counts again)
    records_delivered: int = 0  # records resolved as processed successfully
    failures: int = 0  # failed invocations (function error, partial or malformed response)
    function_errors: int = 0  # invocations that raised
    partial_failures: int = 0  # invocations answered with a valid non-empty batchItemFailures
    retries: int = 0  # re-invocations of a failed batch (bisected halves not counted)
    records_failed_invoke: int = 0  # records of failed invocations (FailedInvokeEventCount)
    records_filtered: int = 0  # dropped by FilterCriteria (committed, never invoked)
    records_dead_lettered: int = 0  # sent to the OnFailure destination
    records_discarded: int = 0  # given up without a destination configured
    destination_errors: int = 0  # failed attempts to write to the destination (retried)
    lag: int = 0  # records behind the end of the source (best effort)
    iterator_age_ms: int = 0  # age of the last record of the last invocation (IteratorAge)
    last_error: str | None = None
    last_invoke_at: float | None = None  # epoch seconds

    def snapshot(self) -> dict[str, Any]:
        """A copy as a plain dict (safe to serialise)."""
        return asdict(self)
