"""What a handler sees besides its event: the :class:`LambdaContext`, the errors Lambda reports, a clock."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["Clock", "FunctionError", "LambdaContext", "SystemClock"]


class Clock(Protocol):
    """Monotonic seconds; inject a fake one to test remaining-time logic."""

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()


class FunctionError(Exception):
    """A function error, as Lambda reports it (``errorType``, ``errorMessage``, ``stackTrace``)."""

    def __init__(self, error_type: str, message: str, stack_trace: Iterable[str] = ()) -> None:
        self.error_type = error_type
        self.error_message = message
        self.stack_trace = list(stack_trace)
        super().__init__(f"{error_type}: {message}")

    def payload(self) -> dict[str, Any]:
        """The error payload Lambda returns for an unhandled error."""
        return {"errorMessage": self.error_message, "errorType": self.error_type, "stackTrace": self.stack_trace}


class LambdaContext:
    """The ``context`` argument: same attributes and method as the Python runtime's."""

    def __init__(self, *, function_name: str, invoked_function_arn: str, memory_limit_in_mb: int,
                 timeout_s: float, log_group_name: str, log_stream_name: str, clock: Clock | None = None,
                 function_version: str = "$LATEST", aws_request_id: str | None = None) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._clock = clock or SystemClock()
        self.deadline = self._clock.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's Timeout (never negative)."""
        return max(0, int((self.deadline - self._clock.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext({self.function_name!r}, request_id={self.aws_request_id!r})"
