"""MiniStack as a managed service: healthy on a loopback port, and a stop leaves none of its function workers."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from local_runtime.services import aws
from local_runtime.services.ministack import MiniStack, default_executable, is_healthy, session_members

pytestmark = pytest.mark.localstack

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not default_executable(ROOT).is_file(), reason="no .tools/ministack (make test-localstack)")
def test_stop_leaves_no_function_worker_behind() -> None:
    emulator = MiniStack(default_executable(ROOT))
    url = emulator.start()
    try:
        assert url.startswith("http://127.0.0.1:") and is_healthy(url)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", "def handler(event, context):\n    return {'pid': __import__('os').getpid()}\n")
        client = aws.client("lambda", url, "us-east-1")
        client.create_function(FunctionName="pid", Runtime="python3.12", Handler="app.handler",
                               Role="arn:aws:iam::000000000000:role/test", Code={"ZipFile": buffer.getvalue()})
        client.get_waiter("function_active_v2").wait(FunctionName="pid")
        client.invoke(FunctionName="pid", Payload=b"{}")
        assert emulator.pid is not None
        sid = emulator.pid
        assert len(session_members(sid)) >= 2  # the emulator and at least one warm worker
    finally:
        emulator.stop()
    assert session_members(sid) == []
    assert not is_healthy(url)
