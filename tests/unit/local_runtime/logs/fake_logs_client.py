"""An in-memory CloudWatch Logs client that enforces what the service enforces on ``PutLogEvents``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from local_runtime.logs.batches import EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_BATCH_SPAN_MS


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeLogsClient:
    """Groups of streams of events; rejects a request AWS would reject. ``before_put`` runs first in every
    ``put_log_events`` (to block, or to raise)."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.calls: list[str] = []
        self.requests: list[list[dict[str, Any]]] = []
        self.before_put: Callable[[], None] | None = None
        self.reject_info: dict[str, int] = {}
        self.changed = threading.Condition()

    def create_log_group(self, *, logGroupName: str) -> None:
        self.calls.append(f"create_log_group {logGroupName}")
        if logGroupName in self.groups:
            raise client_error("ResourceAlreadyExistsException", "CreateLogGroup")
        self.groups[logGroupName] = {}

    def create_log_stream(self, *, logGroupName: str, logStreamName: str) -> None:
        self.calls.append(f"create_log_stream {logGroupName} {logStreamName}")
        if logGroupName not in self.groups:
            raise client_error("ResourceNotFoundException", "CreateLogStream")
        if logStreamName in self.groups[logGroupName]:
            raise client_error("ResourceAlreadyExistsException", "CreateLogStream")
        self.groups[logGroupName][logStreamName] = []

    def put_log_events(self, *, logGroupName: str, logStreamName: str,
                       logEvents: list[dict[str, Any]]) -> dict[str, Any]:
        if self.before_put is not None:
            self.before_put()
        if logStreamName not in self.groups.get(logGroupName, {}):
            raise client_error("ResourceNotFoundException", "PutLogEvents")
        timestamps = [event["timestamp"] for event in logEvents]
        assert 1 <= len(logEvents) <= MAX_BATCH_EVENTS
        assert sum(len(e["message"].encode()) + EVENT_OVERHEAD_BYTES for e in logEvents) <= MAX_BATCH_BYTES
        assert timestamps == sorted(timestamps), "events out of chronological order"
        assert timestamps[-1] - timestamps[0] <= MAX_BATCH_SPAN_MS
        assert all(event["message"] for event in logEvents)
        with self.changed:
            self.requests.append(logEvents)
            self.groups[logGroupName][logStreamName].extend(logEvents)
            self.changed.notify_all()
        return {"rejectedLogEventsInfo": self.reject_info} if self.reject_info else {}

    def messages(self, group: str, stream: str) -> list[str]:
        return [event["message"] for event in self.groups[group][stream]]

    def total(self) -> int:
        return sum(len(events) for streams in self.groups.values() for events in streams.values())

    def wait_for_total(self, count: int, timeout_s: float = 30.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.total() >= count, timeout_s)

