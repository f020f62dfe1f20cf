"""What every on-failure record has, whatever the source: conditions, request and response context.

A source adds its own batch description (``KafkaBatchInfo``, ``DDBStreamBatchInfo``) to the envelope
built here; see docs/AWS_EVENT_SOURCES.md for the documented shapes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Required, TypedDict

__all__ = [
    "CONDITION_PAYLOAD_TOO_LARGE",
    "CONDITION_RECORD_AGE_EXCEEDED",
    "CONDITION_RETRIES_EXHAUSTED",
    "FailureFields",
    "iso_ms",
    "on_failure_envelope",
]

CONDITION_RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
CONDITION_PAYLOAD_TOO_LARGE = "MaximumPayloadSizeExceeded"
# AWS documents that records older than MaximumRecordAgeInSeconds go to the destination but does not
# print the condition string for that case; this name mirrors the other two.
CONDITION_RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


class FailureFields(TypedDict, total=False):
    """Why and after what a batch was given up: the keyword arguments of :func:`on_failure_envelope`
    besides the function ARN (the source-specific builders accept them as ``**fields``)."""

    condition: str
    approximate_invoke_count: Required[int]
    request_id: str | None
    status_code: int
    function_error: str | None
    executed_version: str
    now: datetime | None


def iso_ms(when: datetime | float | int) -> str:
    """UTC ISO-8601 with milliseconds and ``Z`` (``2019-11-14T00:38:06.021Z``); accepts epoch seconds."""
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(float(when), tz=UTC)
    elif when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def on_failure_envelope(
    *,
    function_arn: str,
    condition: str = CONDITION_RETRIES_EXHAUSTED,
    approximate_invoke_count: int,
    request_id: str | None = None,
    status_code: int = 200,
    function_error: str | None = "Unhandled",
    executed_version: str = "$LATEST",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The common part of an on-failure record: request and response context, version, time.

    ``function_error`` is left out of ``responseContext`` when ``None`` (e.g. the batch failed through a
    partial batch response rather than an unhandled error); a missing ``request_id`` gets a fresh UUID.
    """
    response_context: dict[str, Any] = {"statusCode": status_code, "executedVersion": executed_version}
    if function_error is not None:
        response_context["functionError"] = function_error
    return {
        "requestContext": {
            "requestId": request_id or str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": iso_ms(now or datetime.now(UTC)),
    }
