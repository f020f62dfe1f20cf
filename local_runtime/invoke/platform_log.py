"""The lines Lambda itself writes to a function's log stream around each invocation, in Lambda's format.

::

    START RequestId: 8f5c... Version: $LATEST
    END RequestId: 8f5c...
    REPORT RequestId: 8f5c...\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t\
Max Memory Used: 55 MB\tInit Duration: 480.12 ms

``Init Duration`` only on a cold start; ``Status: timeout`` / ``Status: error`` and ``Error Type`` when the
invocation did not end with a response or a function error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Report", "end_line", "exit_line", "init_report_line", "start_line", "timeout_line"]


def start_line(request_id: str) -> str:
    """``START RequestId: <id> Version: $LATEST``."""
    return f"START RequestId: {request_id} Version: $LATEST"


def end_line(request_id: str) -> str:
    """``END RequestId: <id>``."""
    return f"END RequestId: {request_id}"


def timeout_line(request_id: str, timeout_s: float) -> str:
    """The line Lambda writes when it stops a function at its Timeout."""
    return f"{_timestamp()} {request_id} Task timed out after {timeout_s:.2f} seconds"


def exit_line(message: str, error_type: str) -> str:
    """The line Lambda writes when the runtime process exits (``message`` already names the request)."""
    return f"{message}\r{error_type}"


def init_report_line(init_ms: float, status: str, error_type: str | None = None) -> str:
    """``INIT_REPORT`` for an init phase that failed or timed out."""
    line = f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: {status}"
    return f"{line}\tError Type: {error_type}" if error_type else line


@dataclass(frozen=True)
class Report:
    """The figures of one invocation, as its ``REPORT`` line gives them."""

    request_id: str
    duration_ms: float
    memory_mb: int
    max_memory_mb: int | None
    init_ms: float | None = None  # cold starts only
    status: str | None = None  # "timeout" or "error" when not a response or a function error
    error_type: str | None = None

    def line(self) -> str:
        """The ``REPORT`` line."""
        parts = [f"REPORT RequestId: {self.request_id}", f"Duration: {self.duration_ms:.2f} ms",
                 f"Billed Duration: {max(1, math.ceil(self.duration_ms))} ms", f"Memory Size: {self.memory_mb} MB"]
        if self.max_memory_mb is not None:
            parts.append(f"Max Memory Used: {self.max_memory_mb} MB")
        if self.init_ms is not None:
            parts.append(f"Init Duration: {self.init_ms:.2f} ms")
        if self.status:
            parts.append(f"Status: {self.status}")
        if self.error_type:
            parts.append(f"Error Type: {self.error_type}")
        return "\t".join(parts)


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
