"""local_runtime.logs.shipper: CloudWatchLogsSink against an in-memory CloudWatch Logs that checks every request."""

from __future__ import annotations

import io
import logging
import threading

import pytest
from botocore.exceptions import EndpointConnectionError

from local_runtime.invoke.logsink import LogSink
from local_runtime.logs.batches import MAX_BATCH_EVENTS
from local_runtime.logs.shipper import CloudWatchLogsSink, SinkStats
from tests.unit.local_runtime.logs.fake_logs_client import FakeLogsClient, client_error

GROUP_A, GROUP_B = "/aws/lambda/IngestFunction", "/aws/lambda/NotifyFunction"


def test_it_is_a_log_sink(fake_logs: FakeLogsClient) -> None:
    sink: LogSink = CloudWatchLogsSink(fake_logs)  # mypy checks the protocol; this checks it runs
    sink.emit(GROUP_A, "s", 1, "m")
    assert isinstance(sink, CloudWatchLogsSink)
    sink.close()
    assert fake_logs.messages(GROUP_A, "s") == ["m"]


def test_lines_from_many_threads_all_arrive_in_order_per_stream(fake_logs: FakeLogsClient) -> None:
    sink = CloudWatchLogsSink(fake_logs, flush_interval_s=0.05)
    per_thread = 500

    def worker(index: int) -> None:
        group = (GROUP_A, GROUP_B)[index % 2]
        for n in range(per_thread):
            sink.emit(group, f"stream-{index}", 1_700_000_000_000 + n, f"line {n}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sink.close()
    for index in range(6):
        group = (GROUP_A, GROUP_B)[index % 2]
        assert fake_logs.messages(group, f"stream-{index}") == [f"line {n}" for n in range(per_thread)]
    assert sink.stats() == SinkStats(received=3000, shipped=3000)
    creates = [call for call in fake_logs.calls if call.startswith("create")]
    assert len(creates) == len(set(creates)) == 2 + 6  # each group and stream created once


def test_a_stream_is_sent_in_timestamp_order_whatever_order_lines_came_in(fake_logs: FakeLogsClient) -> None:
    with CloudWatchLogsSink(fake_logs, flush_interval_s=10) as sink:
        for timestamp, message in [(30, "c"), (10, "a"), (20, "b"), (30, "d")]:
            sink.emit(GROUP_A, "s", timestamp, message)
    assert fake_logs.messages(GROUP_A, "s") == ["a", "b", "c", "d"]


def test_existing_group_and_stream_are_used(fake_logs: FakeLogsClient) -> None:
    fake_logs.groups[GROUP_A] = {"s": [{"timestamp": 1, "message": "before"}]}
    with CloudWatchLogsSink(fake_logs) as sink:
        sink.emit(GROUP_A, "s", 2, "after")
    assert fake_logs.messages(GROUP_A, "s") == ["before", "after"]
    assert sink.stats().shipped == 1


def test_flush_sends_everything_emitted_before_it(fake_logs: FakeLogsClient) -> None:
    sink = CloudWatchLogsSink(fake_logs, flush_interval_s=60)  # only flush() can send within the test
    for n in range(25):
        sink.emit(GROUP_A, "s", n, str(n))
    assert sink.flush(timeout_s=30)
    assert fake_logs.messages(GROUP_A, "s") == [str(n) for n in range(25)]
    assert sink.flush(timeout_s=30)  # nothing pending: returns too
    sink.close()


def test_a_full_request_is_sent_without_waiting_for_the_interval(fake_logs: FakeLogsClient) -> None:
    sink = CloudWatchLogsSink(fake_logs, flush_interval_s=600)
    for n in range(MAX_BATCH_EVENTS):
        sink.emit(GROUP_A, "s", n, "x")
    assert fake_logs.wait_for_total(MAX_BATCH_EVENTS)
    sink.close()


def test_emit_never_waits_for_the_network_and_a_full_queue_drops_the_oldest(fake_logs: FakeLogsClient) -> None:
    entered, release = threading.Event(), threading.Event()

    def block() -> None:
        entered.set()
        assert release.wait(30)

    fake_logs.before_put = block
    sink = CloudWatchLogsSink(fake_logs, max_queued=100)
    sink.emit(GROUP_A, "s", 0, "first")
    assert sink.flush(timeout_s=0.01) is False  # the request is stuck in the network
    assert entered.wait(30)
    for n in range(1, 151):  # would hang here if emit waited for the stuck request
        sink.emit(GROUP_A, "s", n, f"line {n}")
    assert sink.stats().dropped == 50
    release.set()
    sink.close(timeout_s=30)
    assert fake_logs.messages(GROUP_A, "s") == ["first"] + [f"line {n}" for n in range(51, 151)]
    assert sink.stats() == SinkStats(received=151, shipped=101, dropped=50)


def test_close_sends_the_rest_stops_the_thread_and_later_lines_are_dropped(fake_logs: FakeLogsClient) -> None:
    sink = CloudWatchLogsSink(fake_logs, flush_interval_s=600)
    sink.emit(GROUP_A, "s", 1, "queued")
    sink.close()
    assert not sink._thread.is_alive()
    assert fake_logs.messages(GROUP_A, "s") == ["queued"]
    sink.emit(GROUP_A, "s", 2, "too late")
    sink.close()  # twice is fine
    assert sink.stats() == SinkStats(received=2, shipped=1, dropped=1)


def test_echo_writes_each_line_with_the_function_name(fake_logs: FakeLogsClient) -> None:
    echo = io.StringIO()
    with CloudWatchLogsSink(fake_logs, echo=echo) as sink:
        sink.emit(GROUP_A, "s", 1, "START RequestId: 1 Version: $LATEST")
        sink.emit(GROUP_B, "t", 2, "Traceback:\r  line 1")
        sink.emit(GROUP_B, "t", 3, "")
    assert echo.getvalue() == ("[IngestFunction] START RequestId: 1 Version: $LATEST\n"
                               "[NotifyFunction] Traceback:\n                   line 1\n[NotifyFunction] \n")
    assert fake_logs.messages(GROUP_B, "t") == ["Traceback:\r  line 1", "\n"]


def test_a_closed_echo_file_stops_the_echo_not_the_shipping(fake_logs: FakeLogsClient) -> None:
    echo = io.StringIO()
    echo.close()
    with CloudWatchLogsSink(fake_logs, echo=echo) as sink:
        sink.emit(GROUP_A, "s", 1, "still shipped")
    assert fake_logs.messages(GROUP_A, "s") == ["still shipped"]


def test_an_endpoint_away_is_counted_warned_once_and_shipping_resumes(
        fake_logs: FakeLogsClient, caplog: pytest.LogCaptureFixture) -> None:
    down = True

    def maybe_down() -> None:
        if down:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    fake_logs.before_put = maybe_down
    sink = CloudWatchLogsSink(fake_logs, flush_interval_s=600)
    with caplog.at_level(logging.WARNING, logger="local_runtime.logs.shipper"):
        for n in range(3):
            sink.emit(GROUP_A, "s", n, "lost")
            assert sink.flush(timeout_s=30)
    assert len([r for r in caplog.records if "not shipped" in r.getMessage()]) == 1
    down = False
    sink.emit(GROUP_A, "s", 10, "back")
    sink.close()
    assert fake_logs.messages(GROUP_A, "s") == ["back"]
    assert sink.stats() == SinkStats(received=4, shipped=1, failed=3)


def test_a_group_deleted_behind_its_back_is_created_again(fake_logs: FakeLogsClient) -> None:
    sink = CloudWatchLogsSink(fake_logs, flush_interval_s=600)
    sink.emit(GROUP_A, "s", 1, "one")
    assert sink.flush(timeout_s=30)
    del fake_logs.groups[GROUP_A]
    sink.emit(GROUP_A, "s", 2, "two")
    sink.close()
    assert fake_logs.messages(GROUP_A, "s") == ["two"]
    assert sink.stats().shipped == 2


def test_other_service_errors_count_as_failed(fake_logs: FakeLogsClient) -> None:
    def throttled() -> None:
        raise client_error("ThrottlingException", "PutLogEvents")

    fake_logs.before_put = throttled
    with CloudWatchLogsSink(fake_logs) as sink:
        sink.emit(GROUP_A, "s", 1, "x")
    assert sink.stats() == SinkStats(received=1, failed=1)


def test_events_the_service_rejects_are_counted(fake_logs: FakeLogsClient) -> None:
    fake_logs.reject_info = {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 4}
    with CloudWatchLogsSink(fake_logs, flush_interval_s=600) as sink:
        for n in range(5):
            sink.emit(GROUP_A, "s", n, "x")
    assert sink.stats() == SinkStats(received=5, shipped=2, rejected=3)
