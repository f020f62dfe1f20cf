"""Function logs on a real moto server: CloudWatchLogsSink ships, boto3 and `logistics logs` read back."""

from __future__ import annotations

import io
import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local_runtime.cli import build_parser
from local_runtime.cli import logs as logs_cli
from local_runtime.cloudformation import load_template
from local_runtime.logs import CloudWatchLogsSink, record_endpoints
from local_runtime.services import aws

ROOT = Path(__file__).resolve().parents[4]
REGION = "us-east-1"
LINE = re.compile(r"^(\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}) (.*)$")


def now_ms() -> int:
    return int(time.time() * 1000)


def new_stream() -> str:
    return time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex


def run_logs(*argv: str, stop: threading.Event | None = None, out: io.StringIO | None = None,
             err: io.StringIO | None = None) -> tuple[int, str, str]:
    out = out if out is not None else io.StringIO()
    err = err if err is not None else io.StringIO()
    args = build_parser().parse_args(["logs", *argv])
    code = logs_cli.run(args, out=out, err=err, stop=stop)
    return code, out.getvalue(), err.getvalue()


def wait_until(condition: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def logs_client(moto_endpoint: str) -> Any:
    return aws.client("logs", moto_endpoint, REGION)


@pytest.fixture
def ship(moto_endpoint: str) -> Callable[[list[tuple[str, str, int, str]]], None]:
    """Send (function, stream, timestamp, message) lines through a sink and close it."""
    def send(lines: list[tuple[str, str, int, str]]) -> None:
        with CloudWatchLogsSink.for_endpoint(moto_endpoint, REGION) as sink:
            for function, stream, timestamp, message in lines:
                sink.emit(f"/aws/lambda/{function}", stream, timestamp, message)
        assert sink.stats().shipped == len(lines)
    return send


def test_lines_of_two_functions_from_many_threads_arrive_complete_and_ordered(
        moto_endpoint: str, logs_client: Any, unique_name: str) -> None:
    functions = [f"{unique_name}-Ingest", f"{unique_name}-Notify"]
    streams = [new_stream() for _ in range(4)]  # one per worker thread, two workers per function
    start = now_ms()
    per_worker = 300
    sink = CloudWatchLogsSink.for_endpoint(moto_endpoint, REGION, flush_interval_s=0.05)

    def worker(index: int) -> None:
        group, stream = f"/aws/lambda/{functions[index % 2]}", streams[index]
        for n in range(per_worker // 3):
            request = f"{index}-{n}"
            timestamp = start + n  # START and the handler's line share a millisecond
            sink.emit(group, stream, timestamp, f"START RequestId: {request} Version: $LATEST\n")
            sink.emit(group, stream, timestamp, f"worker {index} line {n}\n")
            sink.emit(group, stream, timestamp + 1, f"REPORT RequestId: {request}\tDuration: 1.00 ms\n")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sink.close(timeout_s=30)
    assert sink.stats().shipped == 4 * per_worker and sink.stats().dropped == 0

    for f, function in enumerate(functions):
        pages = logs_client.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{function}", startTime=start, interleaved=True)
        events = [event for page in pages for event in page["events"]]
        assert len(events) == 2 * per_worker
        assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
        mine = {streams[i] for i in range(4) if i % 2 == f}
        assert {e["logStreamName"] for e in events} == mine
        for index in (i for i in range(4) if i % 2 == f):
            in_stream = [e["message"] for e in events if e["logStreamName"] == streams[index]]
            expected = []
            for n in range(per_worker // 3):
                expected += [f"START RequestId: {index}-{n} Version: $LATEST\n", f"worker {index} line {n}\n",
                             f"REPORT RequestId: {index}-{n}\tDuration: 1.00 ms\n"]
            assert sorted(in_stream) == sorted(expected)
            # Order within a stream: by timestamp, and emit order within a millisecond.
            assert [m for m in in_stream if not m.startswith("REPORT")] == [
                m for m in expected if not m.startswith("REPORT")]


def test_what_aws_logs_tail_calls_works_on_the_shipped_logs(
        logs_client: Any, ship: Callable[..., None], unique_name: str) -> None:
    # `aws logs tail` (CLI v2) is FilterLogEvents from a start time, paged, plus DescribeLogStreams: plain boto3.
    stream = new_stream()
    start = now_ms()
    ship([(unique_name, stream, start + n, f"line {n}") for n in range(30)])
    group = f"/aws/lambda/{unique_name}"
    pages = logs_client.get_paginator("filter_log_events").paginate(
        logGroupName=group, startTime=start, PaginationConfig={"PageSize": 7})
    assert [e["message"] for page in pages for e in page["events"]] == [f"line {n}" for n in range(30)]
    described = logs_client.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in described] == [stream]


def test_logs_since_prints_sam_style_lines_from_that_time(
        moto_endpoint: str, ship: Callable[..., None], unique_name: str, tmp_path: Path) -> None:
    stream = new_stream()
    now = now_ms()
    ship([(unique_name, stream, now - 20 * 60_000, "twenty minutes ago\n"), (unique_name, stream, now - 1000, "now")])
    common = ["--endpoint", moto_endpoint, "--region", REGION, "--template", str(tmp_path / "none.yaml")]

    code, out, err = run_logs(unique_name, *common)  # default: the last 10 minutes
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 1
    match = LINE.match(lines[0])
    assert match is not None and match.group(1) == stream and match.group(3) == "now"

    code, out, _ = run_logs(unique_name, "--since", "1h", *common)
    assert code == 0
    assert [LINE.match(line).group(3) for line in out.splitlines()] == ["twenty minutes ago", "now"]  # type: ignore[union-attr]


def test_logs_filter_pattern(moto_endpoint: str, ship: Callable[..., None], unique_name: str, tmp_path: Path) -> None:
    stream = new_stream()
    now = now_ms()
    ship([(unique_name, stream, now + n, message) for n, message in enumerate(["ok 1", "ERROR boom", "ok 2"])])
    code, out, _ = run_logs(unique_name, "--filter", "ERROR", "--endpoint", moto_endpoint, "--region", REGION,
                            "--template", str(tmp_path / "none.yaml"))
    assert code == 0
    assert [line.split(" ", 2)[2] for line in out.splitlines()] == ["ERROR boom"]


def test_a_logical_id_reads_its_functions_group(
        moto_endpoint: str, ship: Callable[..., None], unique_name: str) -> None:
    stack = unique_name[:30]
    physical = load_template(ROOT / "template.yaml", config_env="local", stack_name=stack).function(
        "IngestFunction").name
    ship([(physical, new_stream(), now_ms(), "from the ingest function")])
    code, out, _ = run_logs("IngestFunction", "--template", str(ROOT / "template.yaml"), "--stack-name", stack,
                            "--endpoint", moto_endpoint)
    assert code == 0
    assert out.endswith(" from the ingest function\n")


def test_the_endpoint_logistics_up_recorded_is_used(
        moto_endpoint: str, ship: Callable[..., None], unique_name: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_LOGS", raising=False)
    ship([(unique_name, new_stream(), now_ms(), "via endpoints.json")])
    record_endpoints(tmp_path / "state", moto_endpoint, REGION)
    code, out, _ = run_logs(unique_name, "--state-dir", str(tmp_path / "state"),
                            "--template", str(tmp_path / "none.yaml"))
    assert code == 0 and out.endswith(" via endpoints.json\n")


def test_no_logs_yet_is_one_clear_line(moto_endpoint: str, unique_name: str, tmp_path: Path) -> None:
    code, out, err = run_logs(unique_name, "--endpoint", moto_endpoint, "--region", REGION,
                              "--template", str(tmp_path / "none.yaml"))
    assert (code, out) == (1, "")
    assert err == f"no logs yet for {unique_name} (log group /aws/lambda/{unique_name})\n"


def test_an_endpoint_nobody_answers_on_is_one_clear_line(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{aws.free_port()}"
    record_endpoints(tmp_path, dead, REGION)
    code, _, err = run_logs("Fn", "--endpoint", dead, "--state-dir", str(tmp_path),
                            "--template", str(tmp_path / "none.yaml"))
    assert code == 1
    assert err.startswith(f"cannot reach CloudWatch Logs at {dead} (--endpoint)")


def test_follow_prints_lines_written_after_it_started_once_each(
        moto_endpoint: str, unique_name: str, tmp_path: Path) -> None:
    stream = new_stream()
    group = f"/aws/lambda/{unique_name}"
    out, err, stop = io.StringIO(), io.StringIO(), threading.Event()
    result: list[tuple[int, str, str]] = []
    follower = threading.Thread(target=lambda: result.append(run_logs(
        unique_name, "--follow", "--endpoint", moto_endpoint, "--region", REGION,
        "--template", str(tmp_path / "none.yaml"), stop=stop, out=out, err=err)))
    follower.start()
    try:
        # It starts before the function wrote anything: it says so once and waits.
        assert wait_until(lambda: "no logs yet" in err.getvalue())
        with CloudWatchLogsSink.for_endpoint(moto_endpoint, REGION) as sink:
            sink.emit(group, stream, now_ms(), "before")
            assert sink.flush(timeout_s=30)
            assert wait_until(lambda: "before" in out.getvalue())
            for n in range(5):
                sink.emit(group, stream, now_ms(), f"after {n}")
                assert sink.flush(timeout_s=30)
                time.sleep(0.3)  # spread over several polls
            assert wait_until(lambda: "after 4" in out.getvalue())
            time.sleep(1.5)  # at least one more poll: nothing may be printed twice
    finally:
        stop.set()
        follower.join(30)
    assert not follower.is_alive()
    code, printed, said = result[0]
    assert code == 0
    assert said == f"no logs yet for {unique_name} (log group {group}); waiting for its first line\n"
    assert [line.split(" ", 2)[2] for line in printed.splitlines()] == ["before"] + [f"after {n}" for n in range(5)]
