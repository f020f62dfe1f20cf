"""AWS Lambda's Runtime API, served to one worker on 127.0.0.1 (an ephemeral port).

The worker's runtime client (AWS's ``awslambdaric`` or our :mod:`.bootstrap`) speaks it as it would on Lambda:

* ``GET /2018-06-01/runtime/invocation/next`` blocks until there is an invocation, then returns the event
  with the headers ``Lambda-Runtime-Aws-Request-Id``, ``Lambda-Runtime-Deadline-Ms`` (epoch ms),
  ``Lambda-Runtime-Invoked-Function-Arn`` and ``Lambda-Runtime-Trace-Id``. The first such request marks the
  end of the init phase (both clients import the handler before asking for work).
* ``POST /2018-06-01/runtime/invocation/{id}/response`` and ``.../{id}/error`` settle that invocation.
* ``POST /2018-06-01/runtime/init/error`` reports a failed init (then the client exits).

HTTP/1.1 with keep-alive (the C client of awslambdaric keeps one connection), ``Expect: 100-continue`` answered
(curl sends it before large bodies and would otherwise wait a second), ``TCP_NODELAY`` on every connection.
Each connection has its own thread, which blocks in ``/next`` while its worker is idle.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

__all__ = ["Invocation", "Outcome", "RuntimeApiServer"]

PREFIX = "/2018-06-01/runtime/"
_REASONS = {100: "Continue", 200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            413: "Payload Too Large"}
_MAX_BODY = 6 * 1024 * 1024 + 1024  # Lambda's synchronous payload limit, plus room for the error envelope
_MAX_LINE = 65536

OutcomeKind = Literal["response", "error", "timeout", "exit"]


@dataclass(frozen=True)
class Outcome:
    """How an invocation ended: the function's response or error, or the platform's timeout or exit."""

    kind: OutcomeKind
    body: bytes = b""
    content_type: str = "application/json"
    error_type: str = ""  # the Lambda-Runtime-Function-Error-Type header of an error
    exit_status: int | None = None  # for "exit": the worker's return code (negative: killed by that signal)
    at: float = field(default_factory=time.perf_counter)


class Invocation:
    """One event on its way to a worker; settled once, by whichever comes first (response, timeout, exit)."""

    def __init__(self, request_id: str, body: bytes, *, deadline_ms: int, function_arn: str) -> None:
        self.request_id = request_id
        self.body = body
        self.deadline_ms = deadline_ms
        self.function_arn = function_arn
        self.trace_id = _trace_id()
        self.sent_at: float | None = None  # perf_counter when the worker received the event
        self.outcome: Outcome | None = None
        self.done = threading.Event()
        self._lock = threading.Lock()

    def settle(self, outcome: Outcome) -> bool:
        """Record ``outcome`` unless another one came first; True when this one counts."""
        with self._lock:
            if self.outcome is not None:
                return False
            self.outcome = outcome
        self.done.set()
        return True


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=0"


class _Request:
    __slots__ = ("body", "headers", "method", "path", "version")

    def __init__(self, method: str, path: str, version: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.path, self.version, self.headers, self.body = method, path, version, headers, body

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        return connection != "close" if self.version == "HTTP/1.1" else connection == "keep-alive"


class RuntimeApiServer:
    """The Runtime API of one worker: hand it invocations with :meth:`submit`, read ``ready`` / ``init_error``."""

    def __init__(self, name: str = "worker") -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.ready = threading.Event()  # set by the first GET /next, or by an init error
        self.ready_at: float | None = None
        self.init_error: Outcome | None = None
        self.current: Invocation | None = None
        self._queue: queue.SimpleQueue[Invocation | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._name = name
        threading.Thread(target=self._accept, name=f"runtime-api-{name}", daemon=True).start()

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        return f"127.0.0.1:{self.port}"

    def submit(self, invocation: Invocation) -> None:
        """Give ``invocation`` to the worker's (pending or next) ``GET /next``."""
        self._queue.put(invocation)

    def close(self) -> None:
        """Stop serving: the listener and every connection are closed; a blocked ``/next`` returns nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connections = list(self._connections)
        self._queue.put(None)
        for sock in (self._listener, *connections):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() or recv()
            with contextlib.suppress(OSError):
                sock.close()

    # ---- serving

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self._connections.add(conn)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), name=f"runtime-api-{self._name}-conn",
                             daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn, conn.makefile("rb") as rfile:
                while True:
                    request = _read_request(rfile, conn)
                    if request is None or not self._handle(request, conn) or not request.keep_alive:
                        return
        except (OSError, ValueError):
            return  # the worker went away (or spoke garbage): nothing to answer
        finally:
            with self._lock:
                self._connections.discard(conn)

    def _handle(self, request: _Request, conn: socket.socket) -> bool:
        """Answer one request; False to close the connection."""
        path = request.path.split("?", 1)[0]
        if not path.startswith(PREFIX):
            return _reply(conn, 404, _error_body("NotFound", f"no route {path}"))
        route = path[len(PREFIX):].strip("/").split("/")
        if request.method == "GET" and route == ["invocation", "next"]:
            return self._next(conn)
        if request.method == "POST" and route == ["init", "error"]:
            self.init_error = Outcome("error", request.body, error_type=_error_type(request))
            self.ready.set()
            return _reply(conn, 202, b'{"status":"OK"}')
        if request.method == "POST" and len(route) == 3 and route[0] == "invocation" \
                and route[2] in ("response", "error"):
            return self._settle(conn, request, route[1], route[2])
        return _reply(conn, 404, _error_body("NotFound", f"no route {request.method} {path}"))

    def _next(self, conn: socket.socket) -> bool:
        if self.ready_at is None:
            self.ready_at = time.perf_counter()
            self.ready.set()
        invocation = self._queue.get()
        if invocation is None:
            self._queue.put(None)  # for any other connection waiting too
            return False
        self.current = invocation
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        }
        invocation.sent_at = time.perf_counter()
        return _reply(conn, 200, invocation.body, headers)

    def _settle(self, conn: socket.socket, request: _Request, request_id: str, kind: str) -> bool:
        current = self.current
        if current is None or current.request_id != request_id:
            return _reply(conn, 400, _error_body("InvalidRequestID", f"Invalid request ID: {request_id}"))
        if len(request.body) > _MAX_BODY:
            current.settle(Outcome("error", _error_body(
                "Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size "
                f"({_MAX_BODY - 1024} bytes)."), error_type="Function.ResponseSizeTooLarge"))
            return _reply(conn, 413, _error_body("RequestEntityTooLarge", "response too large"))
        if kind == "response":
            content_type = request.headers.get("content-type", "application/json")
            current.settle(Outcome("response", request.body, content_type=content_type))
        else:
            current.settle(Outcome("error", request.body, error_type=_error_type(request)))
        return _reply(conn, 202, b'{"status":"OK"}')


def _error_type(request: _Request) -> str:
    return request.headers.get("lambda-runtime-function-error-type", "")


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _read_request(rfile: BinaryIO, conn: socket.socket) -> _Request | None:
    """One HTTP/1.x request from the connection; None at its end."""
    line = rfile.readline(_MAX_LINE)
    while line in (b"\r\n", b"\n"):  # stray newlines between requests are allowed
        line = rfile.readline(_MAX_LINE)
    if not line:
        return None
    method, target, version = line.decode("latin-1").split()
    headers: dict[str, str] = {}
    while True:
        header = rfile.readline(_MAX_LINE)
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("expect", "").lower() == "100-continue":
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _read_chunked(rfile)
    else:
        body = rfile.read(int(headers.get("content-length") or 0))
    return _Request(method, target, version, headers, body)


def _read_chunked(rfile: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int(rfile.readline(_MAX_LINE).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(parts)
        parts.append(rfile.read(size))
        rfile.readline(_MAX_LINE)


def _reply(conn: socket.socket, status: int, body: bytes, headers: dict[str, str] | None = None) -> bool:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}", "Content-Type: application/json",
            f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)  # one write: no Nagle stall
    return True
