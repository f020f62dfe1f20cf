"""local_runtime.invoke output capture: every line a worker prints reaches the sink, in its invocation's place.

A line belongs to the invocation between whose ``START`` and ``END`` it sits, in the stream of the worker that
ran it (one stream per worker, as one CloudWatch stream per execution environment).
"""

from __future__ import annotations

import io
import re
import threading
import uuid
from pathlib import Path

import pytest

from local_runtime.cloudformation import FunctionSpec
from local_runtime.invoke import FunctionError, Invoker, ListSink, StreamSink
from local_runtime.invoke.logsink import LogRecord

WORKERS = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "generic" / "workers"
REGION = "us-east-1"
STREAM = re.compile(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}")


def spec(handler: str, logical_id: str, timeout: float = 10) -> FunctionSpec:
    return FunctionSpec(logical_id=logical_id, name=f"logs-{logical_id}", handler=handler, code_uri=WORKERS,
                        runtime="python3.12", timeout=timeout, memory=128, environment={})


def between(records: list[LogRecord], request_id: str) -> tuple[str, list[str]]:
    """(stream, messages) strictly between the request's START and END lines."""
    start = next(i for i, r in enumerate(records) if r.message == f"START RequestId: {request_id} Version: $LATEST")
    stream = records[start].stream
    own = [r for r in records[start + 1:] if r.stream == stream]
    end = next(i for i, r in enumerate(own) if r.message == f"END RequestId: {request_id}")
    return stream, [r.message for r in own[:end]]


@pytest.mark.parametrize("client", ["awslambdaric", "bootstrap"])
def test_platform_lines_and_handler_output_are_attributed_to_their_request(client: str) -> None:
    sink = ListSink()
    with Invoker([spec("app.chatty", "Chatty")], region=REGION, log_sink=sink, runtime_client=client) as invoker:
        for request_id in ("first", "second"):
            assert invoker.invoke("Chatty", {"lines": 3}, request_id=request_id) == "ok"
    records = sink.records
    assert {r.group for r in records} == {"/aws/lambda/logs-Chatty"}
    stream = records[0].stream
    assert STREAM.fullmatch(stream) and sink.streams() == [stream]
    assert records[0].message.startswith("init of logs-Chatty")  # init output comes before the first START
    for request_id in ("first", "second"):
        _, lines = between(records, request_id)
        assert lines == [f"{request_id} line 0", f"{request_id} line 1", f"{request_id} line 2",
                         f"{request_id} on stderr", f"{request_id} unterminated"]
    messages = [r.message for r in records]
    for request_id in ("first", "second"):
        end = messages.index(f"END RequestId: {request_id}")
        assert messages[end + 1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert [r.timestamp_ms for r in records] == sorted(r.timestamp_ms for r in records)


def test_parallel_invocations_keep_their_lines_apart() -> None:
    sink = ListSink()
    ids = [f"par-{n}-{uuid.uuid4().hex[:6]}" for n in range(4)]
    with Invoker([spec("app.chatty", "Chatty")], region=REGION, log_sink=sink) as invoker:
        threads = [threading.Thread(target=invoker.invoke, args=("Chatty", {"lines": 20}), kwargs={"request_id": i})
                   for i in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    for request_id in ids:
        _, lines = between(sink.records, request_id)
        assert len(lines) == 22 and all(line.startswith(request_id) for line in lines)


def test_an_error_is_logged_as_one_event_with_its_traceback() -> None:
    sink = ListSink()
    with Invoker([spec("app.raises", "Raises")], region=REGION, log_sink=sink) as invoker, \
            pytest.raises(FunctionError):
        invoker.invoke("Raises", {"key": "k"}, request_id="err")
    _, lines = between(sink.records, "err")
    (error,) = [line for line in lines if line.startswith("[ERROR]")]
    assert error.startswith("[ERROR] KeyError: 'k'\rTraceback (most recent call last):\r")
    assert "raise KeyError" in error


def test_a_crash_is_logged_with_lambdas_words() -> None:
    sink = ListSink()
    with Invoker([spec("app.exit3", "Exits")], region=REGION, log_sink=sink) as invoker, \
            pytest.raises(FunctionError):
        invoker.invoke("Exits", {}, request_id="gone")
    _, lines = between(sink.records, "gone")
    assert lines == ["about to exit", "RequestId: gone Error: Runtime exited with error: exit status 3\r"
                     "Runtime.ExitError"]


def test_the_default_sink_prefixes_lines_with_the_function_name() -> None:
    out = io.StringIO()
    with Invoker([spec("app.chatty", "Chatty")], region=REGION, log_sink=StreamSink(out)) as invoker:
        invoker.invoke("Chatty", {"lines": 1}, request_id="r1")
    lines = out.getvalue().splitlines()
    assert "[logs-Chatty] r1 line 0" in lines
    assert "[logs-Chatty] START RequestId: r1 Version: $LATEST" in lines
