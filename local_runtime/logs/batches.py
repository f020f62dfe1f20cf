"""What one ``PutLogEvents`` call may carry: the service's limits, and splitting a stream's lines to fit them.

CloudWatch Logs rejects a whole request that breaks a limit (too many events, too many bytes, events out of
order, a span over 24 hours), so the shipper cuts its buffer into requests that cannot break one. The numbers are
the service's documented quotas, restated in docs/LOCAL_RUNTIME.md ("Function logs").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "EVENT_OVERHEAD_BYTES",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_BATCH_SPAN_MS",
    "MAX_MESSAGE_BYTES",
    "LogLine",
    "batches",
    "fit_message",
]

MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576  # the messages in UTF-8 plus EVENT_OVERHEAD_BYTES per event
EVENT_OVERHEAD_BYTES = 26
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000  # newest minus oldest timestamp of one request
# Lambda cuts a log line at 256 KB; the service itself now takes up to 1 MB, emulators may not.
MAX_MESSAGE_BYTES = 262_144 - EVENT_OVERHEAD_BYTES


@dataclass(frozen=True)
class LogLine:
    """One line a function wrote, as the sink received it."""

    group: str
    stream: str
    timestamp_ms: int
    message: str

    def size(self) -> int:
        """What the line counts against :data:`MAX_BATCH_BYTES`."""
        return len(self.message.encode("utf-8")) + EVENT_OVERHEAD_BYTES


def fit_message(message: str) -> str:
    """``message`` as CloudWatch Logs takes it: never empty (the API needs one character), at most
    :data:`MAX_MESSAGE_BYTES` in UTF-8 (cut on a character boundary, as Lambda cuts long lines)."""
    if not message:
        return "\n"
    data = message.encode("utf-8")
    if len(data) <= MAX_MESSAGE_BYTES:
        return message
    return data[:MAX_MESSAGE_BYTES].decode("utf-8", errors="ignore")


def batches(lines: Iterable[LogLine]) -> Iterator[list[LogLine]]:
    """``lines`` of one stream, sorted by timestamp (stable: lines of the same millisecond keep their order), in
    requests within every limit. Messages must already be :func:`fit_message`-sized."""
    batch: list[LogLine] = []
    size = 0
    for line in sorted(lines, key=lambda item: item.timestamp_ms):
        line_size = line.size()
        if batch and (len(batch) >= MAX_BATCH_EVENTS or size + line_size > MAX_BATCH_BYTES
                      or line.timestamp_ms - batch[0].timestamp_ms > MAX_BATCH_SPAN_MS):
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += line_size
    if batch:
        yield batch
