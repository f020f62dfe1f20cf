"""Reading function logs back: ``FilterLogEvents`` from a start time, paged, and ``--follow`` without repeats.

The calls are the ones ``sam logs`` and ``aws logs tail`` make (``logGroupName``, ``startTime``,
``filterPattern``, ``nextToken``), so any CloudWatch Logs, the embedded moto included, answers them. Lines print as
``sam logs`` prints them: ``<log stream name> <ISO timestamp, UTC> <message>``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TextIO

__all__ = [
    "DEFAULT_LOOKBACK_MS",
    "DEFAULT_POLL_S",
    "EndpointUnreachable",
    "Follower",
    "LogsUnavailable",
    "NoLogGroup",
    "follow",
    "format_event",
    "print_events",
    "read_events",
]

DEFAULT_POLL_S = 1.0
# Lines reach CloudWatch Logs a little after their timestamp (the sink sends every 0.2 s, several workers send
# independently), so each poll looks this far behind the newest line it has seen and skips what it printed.
DEFAULT_LOOKBACK_MS = 10_000
_EPOCH = datetime(1970, 1, 1)


class LogsUnavailable(Exception):
    """The logs cannot be read (see the subclasses); the message is meant for the user."""


class EndpointUnreachable(LogsUnavailable):
    """Nothing answers on the CloudWatch Logs endpoint."""


class NoLogGroup(LogsUnavailable):
    """The log group does not exist (yet): the function has not written a line."""

    def __init__(self, group: str) -> None:
        super().__init__(f"log group {group} does not exist")
        self.group = group


def read_events(client: Any, group: str, *, start_ms: int, end_ms: int | None = None,
                pattern: str | None = None) -> Iterator[dict[str, Any]]:
    """Every event of ``group`` from ``start_ms`` (to ``end_ms``), oldest first, all pages; ``pattern`` is a
    CloudWatch filter pattern. Raises :class:`NoLogGroup` / :class:`EndpointUnreachable`."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    params: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "interleaved": True}
    if end_ms is not None:
        params["endTime"] = end_ms
    if pattern:
        params["filterPattern"] = pattern
    while True:
        try:
            page = client.filter_log_events(**params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise NoLogGroup(group) from exc
            raise
        except EndpointConnectionError as exc:
            raise EndpointUnreachable(str(exc)) from exc
        yield from page.get("events", [])
        token = page.get("nextToken")
        if not token:
            return
        params["nextToken"] = token


def format_event(event: dict[str, Any]) -> str:
    """``<log stream name> <ISO timestamp> <message>``, the message without its trailing newline; the ``\\r``
    that keeps a traceback one event becomes a line break (on a terminal it would overwrite the line)."""
    when = _EPOCH + timedelta(milliseconds=int(event["timestamp"]))
    message = str(event.get("message", "")).rstrip("\n").replace("\r", "\n")
    return f"{event.get('logStreamName', '')} {when.isoformat(timespec='microseconds')} {message}"


def print_events(client: Any, group: str, out: TextIO, *, start_ms: int, pattern: str | None = None) -> int:
    """Print the events of ``group`` since ``start_ms``; returns how many."""
    count = 0
    for event in read_events(client, group, start_ms=start_ms, pattern=pattern):
        out.write(format_event(event) + "\n")
        count += 1
    out.flush()
    return count


class Follower:
    """Successive reads of one group, each returning only events not returned before.

    An event is known by (log stream, event id). Each read starts ``lookback_ms`` before the newest timestamp
    seen, so lines that arrive late are still found; ids older than that window are forgotten, which keeps the
    memory to one window's worth.
    """

    def __init__(self, client: Any, group: str, *, start_ms: int, pattern: str | None = None,
                 lookback_ms: int = DEFAULT_LOOKBACK_MS) -> None:
        self.client = client
        self.group = group
        self.pattern = pattern
        self._start_ms = start_ms
        self._lookback_ms = lookback_ms
        self._newest_ms: int | None = None
        self._seen: dict[tuple[str, str], int] = {}  # (stream, event id) -> timestamp

    def _window_start(self) -> int:
        if self._newest_ms is None:
            return self._start_ms
        return max(self._start_ms, self._newest_ms - self._lookback_ms)

    def poll(self) -> list[dict[str, Any]]:
        """The events that appeared since the previous poll (all since ``start_ms`` the first time)."""
        fresh = []
        for event in read_events(self.client, self.group, start_ms=self._window_start(), pattern=self.pattern):
            key = (str(event.get("logStreamName", "")), str(event.get("eventId", "")))
            if key in self._seen:
                continue
            timestamp = int(event["timestamp"])
            self._seen[key] = timestamp
            self._newest_ms = timestamp if self._newest_ms is None else max(self._newest_ms, timestamp)
            fresh.append(event)
        start = self._window_start()
        self._seen = {key: ts for key, ts in self._seen.items() if ts >= start}
        return fresh


def follow(client: Any, group: str, out: TextIO, stop: threading.Event, *, start_ms: int,
           pattern: str | None = None, poll_s: float = DEFAULT_POLL_S,
           on_missing: Callable[[NoLogGroup], None] | None = None) -> None:
    """Print the events of ``group`` since ``start_ms``, then new ones as they arrive, until ``stop`` is set.

    While the group does not exist, ``on_missing`` is told once and polling goes on. Raises
    :class:`EndpointUnreachable` when the endpoint goes away.
    """
    follower = Follower(client, group, start_ms=start_ms, pattern=pattern)
    told = False
    while not stop.is_set():
        try:
            events = follower.poll()
        except NoLogGroup as exc:
            if on_missing is not None and not told:
                on_missing(exc)
            told = True
            events = []
        for event in events:
            out.write(format_event(event) + "\n")
        out.flush()
        stop.wait(poll_s)
