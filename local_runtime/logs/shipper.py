"""Function output into the embedded CloudWatch Logs, as Lambda ships it: :class:`CloudWatchLogsSink`.

The workers call :meth:`CloudWatchLogsSink.emit` for every line (``START``/``END``/``REPORT`` and the handler's
stdout and stderr). ``emit`` only appends to a bounded in-memory queue: an invocation never waits for the
network. One background thread takes what accumulated every ``flush_interval_s`` (sooner when a full request's
worth is waiting), creates the log group and stream the first time it sees them, and sends each stream's lines
with ``PutLogEvents`` in requests within the service's limits (:mod:`.batches`). When the queue is full the
oldest line is dropped and counted, as a slow log pipeline should lose old lines rather than stall the code.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, TextIO

from local_runtime.logs.batches import (
    EVENT_OVERHEAD_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    LogLine,
    batches,
    fit_message,
)

__all__ = ["DEFAULT_FLUSH_INTERVAL_S", "DEFAULT_MAX_QUEUED", "CloudWatchLogsSink", "SinkStats"]

log = logging.getLogger(__name__)

DEFAULT_FLUSH_INTERVAL_S = 0.2
# Lines held while the endpoint is slow or away: about 25 MB of 500-byte lines.
DEFAULT_MAX_QUEUED = 50_000


@dataclass(frozen=True)
class SinkStats:
    """What happened to the lines emitted so far.

    ``received``: lines passed to ``emit``; ``shipped``: accepted by ``PutLogEvents``; ``dropped``: pushed out of
    the full queue, or emitted after ``close``; ``failed``: in requests that failed (endpoint away, throttled...);
    ``rejected``: refused by the service as too old or too far in the future.
    """

    received: int = 0
    shipped: int = 0
    dropped: int = 0
    failed: int = 0
    rejected: int = 0


class CloudWatchLogsSink:
    """A thread-safe :class:`~local_runtime.invoke.logsink.LogSink` shipping lines to CloudWatch Logs (moto,
    LocalStack or AWS) in the background.

    ``client`` is a boto3 ``logs`` client (only the sink's thread uses it); :meth:`for_endpoint` makes one.
    ``echo``, when given, also receives every line as :class:`~local_runtime.invoke.logsink.StreamSink` writes it,
    ``[FunctionName] message`` (the runtime's ``functions.log``), from the same background thread. Use as a
    context manager, or call :meth:`close`.
    """

    def __init__(self, client: Any, *, echo: TextIO | None = None,
                 flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S, max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        if max_queued < 1:
            raise ValueError("max_queued must be at least 1")
        self._client = client
        self._echo: Any = None
        if echo is not None:
            # Imported here: reading logs (`logistics logs`) needs nothing of the invoke package.
            from local_runtime.invoke.logsink import StreamSink

            self._echo = StreamSink(echo)
        self._echo_name = getattr(echo, "name", "the echo stream")
        self._interval = flush_interval_s
        self._max_queued = max_queued
        self._cond = threading.Condition()
        self._queue: deque[LogLine] = deque()
        self._queued_bytes = 0  # approximate (characters, not UTF-8 bytes): only decides when to send early
        self._received = 0
        self._dropped = 0
        self._handled = 0  # lines received before the last take, all sent (or given up on) since
        self._flush_wanted = False
        self._closing = False
        # Touched by the shipping thread only.
        self._shipped = 0
        self._failed = 0
        self._rejected = 0
        self._groups: set[str] = set()
        self._streams: set[tuple[str, str]] = set()
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="cloudwatch-logs-sink", daemon=True)
        self._thread.start()

    @classmethod
    def for_endpoint(cls, endpoint_url: str | None, region: str | None = None, *, echo: TextIO | None = None,
                     flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
                     max_queued: int = DEFAULT_MAX_QUEUED) -> CloudWatchLogsSink:
        """A sink on the CloudWatch Logs of ``endpoint_url`` (``AWS_ENDPOINT_URL_LOGS`` wins when set)."""
        from local_runtime.services import aws

        # Short timeouts: a vanished endpoint must not hold the thread (and close()) for a minute.
        client = aws.client("logs", endpoint_url, region, connect_timeout=2, read_timeout=10)
        return cls(client, echo=echo, flush_interval_s=flush_interval_s, max_queued=max_queued)

    # ---- the caller's side (any thread)

    def emit(self, group: str, stream: str, timestamp_ms: int, message: str) -> None:
        """Queue one line of ``stream`` in ``group``; returns at once. Drops the oldest line when the queue is full."""
        line = LogLine(group, stream, int(timestamp_ms), fit_message(message))
        with self._cond:
            self._received += 1
            if self._closing:
                self._dropped += 1
                return
            if len(self._queue) >= self._max_queued:
                oldest = self._queue.popleft()
                self._queued_bytes -= len(oldest.message) + EVENT_OVERHEAD_BYTES
                self._dropped += 1
            self._queue.append(line)
            self._queued_bytes += len(line.message) + EVENT_OVERHEAD_BYTES
            if len(self._queue) == 1 or self._request_full():
                self._cond.notify_all()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Send every line emitted before the call now; wait until sent (or given up on). False on timeout."""
        with self._cond:
            target = self._received
            self._flush_wanted = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._handled >= target or not self._thread.is_alive(), timeout_s)

    def close(self, timeout_s: float = 2.0) -> None:
        """Send what is queued, then stop the thread; waits at most ``timeout_s``. Later lines are dropped.
        Safe to call twice."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout_s)

    def stats(self) -> SinkStats:
        """Counters so far (see :class:`SinkStats`)."""
        with self._cond:
            return SinkStats(received=self._received, shipped=self._shipped, dropped=self._dropped,
                             failed=self._failed, rejected=self._rejected)

    def __enter__(self) -> CloudWatchLogsSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the shipping thread

    def _request_full(self) -> bool:
        return len(self._queue) >= MAX_BATCH_EVENTS or self._queued_bytes >= MAX_BATCH_BYTES

    def _urgent(self) -> bool:
        return self._closing or self._flush_wanted or self._request_full()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closing or self._flush_wanted)
                # The first line starts the interval: lines of the same burst go in the same requests.
                self._cond.wait_for(self._urgent, self._interval)
                lines = list(self._queue)
                self._queue.clear()
                self._queued_bytes = 0
                self._flush_wanted = False
                upto = self._received
                closing = self._closing
            if lines:
                self._ship(lines)
            with self._cond:
                self._handled = upto
                self._cond.notify_all()
            if closing:
                return

    def _ship(self, lines: list[LogLine]) -> None:
        if self._echo is not None:
            self._write_echo(lines)
        by_stream: dict[tuple[str, str], list[LogLine]] = {}
        for line in lines:
            by_stream.setdefault((line.group, line.stream), []).append(line)
        for (group, stream), stream_lines in by_stream.items():
            for batch in batches(stream_lines):
                self._put(group, stream, batch)

    def _write_echo(self, lines: list[LogLine]) -> None:
        assert self._echo is not None
        try:
            for line in lines:
                # An empty line travels as "\n" (CloudWatch needs a character); the echo shows it empty.
                self._echo.emit(line.group, line.stream, line.timestamp_ms, line.message.rstrip("\n"))
        except (OSError, ValueError) as exc:  # ValueError: the file was closed under us
            log.warning("function logs: no longer echoing to %s: %s", self._echo_name, exc)
            self._echo = None

    def _put(self, group: str, stream: str, batch: list[LogLine]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        events = [{"timestamp": line.timestamp_ms, "message": line.message} for line in batch]
        for attempt in (1, 2):
            try:
                self._ensure(group, stream)
                response = self._client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
            except ClientError as exc:
                if attempt == 1 and _code(exc) == "ResourceNotFoundException":
                    # Deleted behind our back (or the emulator restarted): create them again, once.
                    self._groups.discard(group)
                    self._streams.discard((group, stream))
                    continue
                self._failure(group, stream, len(batch), exc)
                return
            except BotoCoreError as exc:
                self._failure(group, stream, len(batch), exc)
                return
            rejected = _rejected(response.get("rejectedLogEventsInfo") or {}, len(batch))
            with self._cond:
                self._shipped += len(batch) - rejected
                self._rejected += rejected
            if self._failing:
                self._failing = False
                log.info("function logs: shipping to CloudWatch Logs again")
            return

    def _ensure(self, group: str, stream: str) -> None:
        if group not in self._groups:
            _create(self._client.create_log_group, logGroupName=group)
            self._groups.add(group)
        if (group, stream) not in self._streams:
            _create(self._client.create_log_stream, logGroupName=group, logStreamName=stream)
            self._streams.add((group, stream))

    def _failure(self, group: str, stream: str, count: int, exc: Exception) -> None:
        with self._cond:
            self._failed += count
        if not self._failing:  # once per outage, not once per request
            self._failing = True
            log.warning("function logs: %d line(s) of %s %s not shipped (more may follow): %s",
                        count, group, stream, exc)


def _create(call: Any, **params: str) -> None:
    from botocore.exceptions import ClientError

    try:
        call(**params)
    except ClientError as exc:
        if _code(exc) != "ResourceAlreadyExistsException":
            raise


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _rejected(info: dict[str, int], count: int) -> int:
    """How many events of a request of ``count`` the service refused (``rejectedLogEventsInfo``)."""
    old = max(info.get("tooOldLogEventEndIndex", -1), info.get("expiredLogEventEndIndex", -1)) + 1
    new = count - info["tooNewLogEventStartIndex"] if "tooNewLogEventStartIndex" in info else 0
    return min(count, old + new)
