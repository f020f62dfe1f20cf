"""local_runtime.invoke.logsink: the default text sink and the collecting one."""

from __future__ import annotations

import contextlib
import io

from local_runtime.invoke.logsink import ListSink, LogSink, StreamSink


def test_stream_sink_prefixes_the_function_and_breaks_tracebacks_into_lines() -> None:
    out = io.StringIO()
    sink: LogSink = StreamSink(out)
    sink.emit("/aws/lambda/orders", "s", 1, "hello")
    sink.emit("/aws/lambda/orders", "s", 2, "[ERROR] X\rTraceback")
    assert out.getvalue() == "[orders] hello\n[orders] [ERROR] X\n         Traceback\n"


def test_stream_sink_without_a_stream_follows_sys_stdout() -> None:
    sink = StreamSink()
    redirected = io.StringIO()
    with contextlib.redirect_stdout(redirected):
        sink.emit("/aws/lambda/f", "s", 1, "to wherever stdout is")
    assert redirected.getvalue() == "[f] to wherever stdout is\n"


def test_list_sink_keeps_lines_by_group_and_stream() -> None:
    sink = ListSink()
    sink.emit("/aws/lambda/a", "s1", 1, "one")
    sink.emit("/aws/lambda/b", "s2", 2, "two")
    sink.emit("/aws/lambda/a", "s3", 3, "three")
    assert sink.messages("/aws/lambda/a") == ["one", "three"]
    assert sink.messages(stream="s2") == ["two"]
    assert sink.streams() == ["s1", "s2", "s3"] and sink.streams("/aws/lambda/a") == ["s1", "s3"]
