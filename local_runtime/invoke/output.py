"""A worker's output (stdout and stderr share one pipe, so their lines keep their order), line by line to a sink.

A reader thread passes each complete line on as it arrives. Lines are attributed to an invocation by their
place in the stream: :meth:`OutputCapture.platform` first drains whatever the worker has already written,
then writes the platform line (``START``, ``END``...). Both runtime clients flush their output before they
post a response, so by the time the response has arrived everything the handler printed is in the pipe, and
draining it before ``END`` puts each line between its own invocation's ``START`` and ``END``. Lines printed
before the first ``START`` are the init phase's.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable

__all__ = ["OutputCapture"]

_READ_SIZE = 65536
_MAX_LINE = 256 * 1024  # CloudWatch caps an event at 256 KiB; a longer unterminated line is cut there

Emit = Callable[[int, str], None]  # (timestamp_ms, message)


class OutputCapture:
    """Reads the worker's output pipe ``fd`` (owned, closed at EOF) and emits one message per line."""

    def __init__(self, fd: int, emit: Emit, *, name: str = "worker") -> None:
        self._fd = fd
        self._emit = emit
        self._lock = threading.Lock()  # one reader at a time, and platform lines between two reads
        self._partial = b""
        self._eof = False
        self.finished = threading.Event()  # set once the pipe reached EOF and was closed
        os.set_blocking(fd, False)
        threading.Thread(target=self._run, name=f"output-{name}", daemon=True).start()

    def platform(self, *messages: str) -> None:
        """Emit ``messages`` after everything the worker wrote so far (an unterminated last line included)."""
        with self._lock:
            self._read_available()
            if self._partial:
                self._emit_line(self._partial)
                self._partial = b""
            for message in messages:
                self._emit(_now_ms(), message)

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        try:
            while not self._eof:
                poller.poll()
                with self._lock:
                    self._read_available()
        finally:
            with self._lock:
                if self._partial:
                    self._emit_line(self._partial)
                    self._partial = b""
                self._eof = True
                with contextlib.suppress(OSError):
                    os.close(self._fd)
            self.finished.set()

    def _read_available(self) -> None:
        """Read what the pipe holds now, emitting complete lines (called under the lock)."""
        while not self._eof:
            try:
                chunk = os.read(self._fd, _READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._eof = True
                return
            data = self._partial + chunk
            *lines, self._partial = data.split(b"\n")
            for line in lines:
                self._emit_line(line)
            if len(self._partial) >= _MAX_LINE:
                self._emit_line(self._partial)
                self._partial = b""

    def _emit_line(self, line: bytes) -> None:
        self._emit(_now_ms(), line.decode("utf-8", errors="replace"))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
