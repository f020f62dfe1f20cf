"""Where the workers' output goes: the :class:`LogSink` protocol and two small sinks.

Every line a function's worker prints (stdout and stderr), and the platform lines Lambda itself writes
(``START``, ``END``, ``REPORT``...), is passed to a sink as one call of :meth:`LogSink.emit`, with the
CloudWatch Logs coordinates Lambda would use: the group ``/aws/lambda/<FunctionName>`` and one stream per
execution environment (worker). Calls come from many threads at once; a sink must be thread-safe and quick
(a slow sink slows down the worker whose output it receives).
"""

from __future__ import annotations

import sys
import threading
from typing import NamedTuple, Protocol, TextIO

__all__ = ["ListSink", "LogRecord", "LogSink", "StreamSink", "function_name_of"]


class LogSink(Protocol):
    """Receives every log line of every worker, in order per stream."""

    def emit(self, group: str, stream: str, timestamp_ms: int, message: str) -> None:
        """One line (without its newline) of log stream ``stream`` in log group ``group``, read at
        ``timestamp_ms`` (epoch milliseconds). A multi-line message (a traceback) keeps ``\\r`` between its
        lines, as Lambda's runtime writes it, so that it stays one log event."""
        ...


def function_name_of(group: str) -> str:
    """``/aws/lambda/orders-api`` -> ``orders-api``."""
    return group.rsplit("/", 1)[-1]


class StreamSink:
    """Writes ``[FunctionName] message`` lines to a text stream.

    ``stream=None`` means "whatever ``sys.stdout`` is when the line arrives", so a caller that redirects
    stdout (``logistics invoke`` to stderr, ``logistics up`` to its log file) redirects the handlers' output.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def emit(self, group: str, stream: str, timestamp_ms: int, message: str) -> None:
        prefix = f"[{function_name_of(group)}] "
        # The \r that keeps a traceback one log event would overwrite the line on a terminal.
        text = prefix + message.replace("\r", "\n" + " " * len(prefix)) + "\n"
        out = self._stream if self._stream is not None else sys.stdout
        with self._lock:
            out.write(text)
            out.flush()


class LogRecord(NamedTuple):
    """One line as a sink received it."""

    group: str
    stream: str
    timestamp_ms: int
    message: str


class ListSink:
    """Keeps every line in memory (for tests)."""

    def __init__(self) -> None:
        self.records: list[LogRecord] = []
        self._lock = threading.Lock()

    def emit(self, group: str, stream: str, timestamp_ms: int, message: str) -> None:
        with self._lock:
            self.records.append(LogRecord(group, stream, timestamp_ms, message))

    def messages(self, group: str | None = None, stream: str | None = None) -> list[str]:
        """The messages received so far, of one group and/or stream if given."""
        with self._lock:
            return [r.message for r in self.records
                    if (group is None or r.group == group) and (stream is None or r.stream == stream)]

    def streams(self, group: str | None = None) -> list[str]:
        """The distinct streams seen, in order of their first line."""
        with self._lock:
            return list(dict.fromkeys(r.stream for r in self.records if group is None or r.group == group))
