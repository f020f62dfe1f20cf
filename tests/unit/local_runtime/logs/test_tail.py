"""local_runtime.logs.tail: paging, sam-style lines, and a follower that never prints a line twice."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from local_runtime.logs.tail import EndpointUnreachable, Follower, NoLogGroup, follow, format_event, read_events
from tests.unit.local_runtime.logs.fake_logs_client import client_error

GROUP = "/aws/lambda/Fn"


class FilterClient:
    """``filter_log_events`` over a list of events, ``page_size`` per page, with FilterLogEvents' parameters."""

    def __init__(self, page_size: int = 2) -> None:
        self.events: list[dict[str, Any]] = []
        self.page_size = page_size
        self.calls: list[dict[str, Any]] = []
        self.missing = False
        self.on_call: Any = None

    def add(self, stream: str, timestamp: int, message: str) -> None:
        self.events.append({"logStreamName": stream, "timestamp": timestamp, "message": message,
                            "eventId": str(len(self.events)), "ingestionTime": timestamp})

    def filter_log_events(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if self.on_call is not None:
            self.on_call(len(self.calls))
        if self.missing:
            raise client_error("ResourceNotFoundException", "FilterLogEvents")
        assert params["logGroupName"] == GROUP and params["interleaved"] is True
        matching = sorted((e for e in self.events if e["timestamp"] >= params["startTime"]
                           and params.get("filterPattern", "") in e["message"]), key=lambda e: e["timestamp"])
        first = int(params.get("nextToken", "0"))
        page: dict[str, Any] = {"events": matching[first:first + self.page_size]}
        if first + self.page_size < len(matching):
            page["nextToken"] = str(first + self.page_size)
        return page


def test_read_events_follows_every_page_from_the_start_time() -> None:
    client = FilterClient(page_size=2)
    for n in range(7):
        client.add("s", 1000 + n, f"m{n}")
    assert [e["message"] for e in read_events(client, GROUP, start_ms=1002)] == ["m2", "m3", "m4", "m5", "m6"]
    assert [c.get("nextToken") for c in client.calls] == [None, "2", "4"]
    assert list(read_events(client, GROUP, start_ms=0, pattern="m6")) == [client.events[6]]
    assert client.calls[-1]["filterPattern"] == "m6"


def test_errors_become_the_two_reasons_users_are_told() -> None:
    client = FilterClient()
    client.missing = True
    with pytest.raises(NoLogGroup, match="/aws/lambda/Fn"):
        list(read_events(client, GROUP, start_ms=0))

    class Unreachable:
        def filter_log_events(self, **_params: Any) -> dict[str, Any]:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    with pytest.raises(EndpointUnreachable):
        list(read_events(Unreachable(), GROUP, start_ms=0))


def test_lines_look_like_sam_logs() -> None:
    event = {"logStreamName": "2024/05/01/[$LATEST]0a1b", "timestamp": 1714564800123,
             "message": "START RequestId: r1 Version: $LATEST\n"}
    assert format_event(event) == (
        "2024/05/01/[$LATEST]0a1b 2024-05-01T12:00:00.123000 START RequestId: r1 Version: $LATEST")
    traceback = {**event, "message": "Traceback (most recent call last):\r  File x\rValueError: boom"}
    assert format_event(traceback).endswith(
        " Traceback (most recent call last):\n  File x\nValueError: boom")


def test_the_follower_returns_each_event_once_including_late_arrivals() -> None:
    client = FilterClient(page_size=3)
    client.add("a", 10_000, "a1")
    client.add("a", 11_000, "a2")
    follower = Follower(client, GROUP, start_ms=5_000, lookback_ms=5_000)
    assert [e["message"] for e in follower.poll()] == ["a1", "a2"]
    assert follower.poll() == []
    client.add("a", 12_000, "a3")
    client.add("b", 10_500, "b1")  # another stream's line, older than what was printed, shipped late
    assert [e["message"] for e in follower.poll()] == ["b1", "a3"]
    assert client.calls[-1]["startTime"] == 11_000 - 5_000
    assert follower.poll() == []


def test_the_follower_forgets_ids_older_than_its_window() -> None:
    client = FilterClient(page_size=100)
    for n in range(50):
        client.add("a", n * 1_000, f"m{n}")
    follower = Follower(client, GROUP, start_ms=0, lookback_ms=3_000)
    assert len(follower.poll()) == 50
    assert sorted(ts for ts in follower._seen.values()) == [46_000, 47_000, 48_000, 49_000]


def test_follow_prints_new_lines_until_stopped_and_waits_for_a_missing_group() -> None:
    client = FilterClient()
    client.missing = True
    out, stop, told = io.StringIO(), threading.Event(), []

    def script(call: int) -> None:  # the group appears at the 3rd poll, a line more at the 4th, stop at the 5th
        if call == 3:
            client.missing = False
            client.add("s", 2_000, "first")
        elif call == 4:
            client.add("s", 3_000, "second")
        elif call == 5:
            stop.set()

    client.on_call = script
    follow(client, GROUP, out, stop, start_ms=1_000, poll_s=0.001, on_missing=told.append)
    assert out.getvalue().splitlines() == [
        "s 1970-01-01T00:00:02.000000 first", "s 1970-01-01T00:00:03.000000 second"]
    assert len(told) == 1 and isinstance(told[0], NoLogGroup)
