"""local_runtime.invoke.output: a pipe read line by line, platform lines placed after what was written."""

from __future__ import annotations

import os
import threading
import time

from local_runtime.invoke.output import OutputCapture


class Lines:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, timestamp_ms: int, message: str) -> None:
        assert timestamp_ms > 1_600_000_000_000
        with self.lock:
            self.messages.append(message)

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.messages)


def test_platform_lines_come_after_everything_written_before_them() -> None:
    read_end, write_end = os.pipe()
    lines = Lines()
    capture = OutputCapture(read_end, lines)
    for n in range(200):
        os.write(write_end, f"line {n}\n".encode())
    os.write(write_end, b"no newline yet")
    capture.platform("END RequestId: r", "REPORT RequestId: r")
    assert lines.messages == [*(f"line {n}" for n in range(200)), "no newline yet", "END RequestId: r",
                              "REPORT RequestId: r"]
    os.close(write_end)
    assert capture.finished.wait(5)


def test_lines_arrive_without_platform_lines_and_a_traceback_keeps_its_carriage_returns() -> None:
    read_end, write_end = os.pipe()
    lines = Lines()
    capture = OutputCapture(read_end, lines)
    os.write(write_end, "[ERROR] Boom\rTraceback...\r  File x\nnon-UTF-8 \xff\n".encode("latin-1"))
    assert lines.wait_for(2) == ["[ERROR] Boom\rTraceback...\r  File x", "non-UTF-8 \ufffd"]
    os.write(write_end, b"last words")
    os.close(write_end)
    assert capture.finished.wait(5)
    assert lines.messages[-1] == "last words"
    capture.platform("after the end")  # a worker gone: platform lines still arrive
    assert lines.messages[-1] == "after the end"
