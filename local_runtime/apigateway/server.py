"""The HTTP front door: a threaded HTTP/1.1 server (keep-alive, one thread per connection) handing every
request to a :class:`~local_runtime.apigateway.gateway.Gateway`.

Request bodies are read in full, by ``Content-Length`` or chunked, up to API Gateway's 10 MB payload quota;
a larger one is a 413 and the connection is closed. A client gone mid-request or mid-response only ends its
connection (logged at debug level, never a traceback). :meth:`ApiGatewayServer.stop` stops accepting, lets
requests in flight finish for up to its timeout, then closes every connection.

::

    server = ApiGatewayServer(api_routes(template), invoker.invoke, port=3000).start()
    print(server.url)
    ...
    server.stop()
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local_runtime.apigateway.events import HttpRequest
from local_runtime.apigateway.gateway import Gateway, Invoke
from local_runtime.apigateway.responses import HttpResponse, gateway_error
from local_runtime.apigateway.spec import ApiRoute

__all__ = ["MAX_BODY_BYTES", "ApiGatewayServer"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota (REST and HTTP APIs)
_GONE = (ConnectionError, TimeoutError)  # BrokenPipe, ConnectionReset/Aborted, socket timeouts


class _TooLarge(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout_s)  # an idle keep-alive connection is closed

    def _dispatch(self) -> None:
        with self.server.tracking(self.connection):
            try:
                body = self._read_body()
            except _TooLarge:
                self.close_connection = True  # the unread body makes the connection unusable
                self._send(gateway_error(self.server.gateway.table.kind, "too_large"))
                return
            except ValueError:
                self.close_connection = True
                self.send_error(400, "Bad request body framing")
                return
            target = self.path
            if not target.startswith("/"):  # absolute-form request target (http://host/path?query)
                parts = urlsplit(target)
                target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            raw_path, _, query = target.partition("?")
            request = HttpRequest(
                method=self.command,
                raw_path=raw_path or "/",
                query_string=query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                port=self.server.server_address[1],
                protocol=self.request_version,
            )
            response = self.server.gateway.handle(request)
            if self.server.stopping.is_set():
                self.close_connection = True  # answered, then closed: a stop is under way
            self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY_BYTES:
            raise _TooLarge
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise ConnectionAbortedError("client closed the connection mid-body")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ConnectionAbortedError("client closed the connection mid-body")
            size = int(line.split(b";", 1)[0].strip() or b"x", 16)  # ValueError: not a chunk size
            if size < 0:
                raise ValueError("negative chunk size")
            if size == 0:
                while self.rfile.readline(8192).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _TooLarge
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise ConnectionAbortedError("client closed the connection mid-body")
            chunks.append(chunk)
            self.rfile.readline(8)  # the CRLF closing the chunk

    def _send(self, response: HttpResponse) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
        except _GONE as exc:
            self.close_connection = True
            log.debug("client %s gone mid-response: %s", self.client_address[0], exc)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a connection's thread never holds the process up
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], gateway: Gateway, idle_timeout_s: float) -> None:
        self.gateway = gateway
        self.idle_timeout_s = idle_timeout_s
        self.stopping = threading.Event()
        self._lock = threading.Condition()
        self._open: set[socket.socket] = set()
        self._busy: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (getfqdn), which can take seconds; the name is unused.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._open.discard(request)
            self._busy.discard(request)
            self._lock.notify_all()
        super().shutdown_request(request)

    def tracking(self, connection: socket.socket) -> _Busy:
        return _Busy(self, connection)

    def mark(self, connection: socket.socket, busy: bool) -> None:
        with self._lock:
            (self._busy.add if busy else self._busy.discard)(connection)
            self._lock.notify_all()

    def close_connections(self, grace_s: float) -> None:
        """Close idle connections now, busy ones when their request is answered or ``grace_s`` has passed."""
        deadline = time.monotonic() + grace_s
        with self._lock:
            while True:
                for conn in self._open - self._busy:
                    _hang_up(conn)
                    self._open.discard(conn)
                left = deadline - time.monotonic()
                if not self._busy or left <= 0:
                    break
                self._lock.wait(min(left, 0.05))
            for conn in self._open:
                _hang_up(conn)
            self._open.clear()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, _GONE):
            log.debug("connection from %s ended: %s", client_address[0], exc)
        else:
            log.error("error serving %s", client_address[0], exc_info=exc)


class _Busy:
    """Marks a connection busy while one request is handled (a stop waits for those)."""

    def __init__(self, server: _Server, connection: socket.socket) -> None:
        self._server, self._connection = server, connection

    def __enter__(self) -> None:
        self._server.mark(self._connection, True)

    def __exit__(self, *exc: object) -> None:
        self._server.mark(self._connection, False)


def _hang_up(conn: socket.socket) -> None:
    # shutdown (not close) wakes the connection's thread out of its blocking read; it closes the socket.
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


class ApiGatewayServer:
    """A template's ``Api`` and ``HttpApi`` routes served on one port, each request invoking its function.

    Parameters
    ----------
    routes:
        From :func:`local_runtime.cloudformation.api_events.api_routes`.
    invoke:
        ``invoke(function_logical_id, event) -> result`` (``Invoker.invoke``); raising is a function error.
    host, port:
        Where to listen; port 0 picks a free one (see :attr:`port`).
    account_id, clock:
        ``requestContext.accountId``; the time source of ``requestTime`` / ``timeEpoch``.
    idle_timeout_s:
        How long an idle keep-alive connection stays open.
    """

    def __init__(self, routes: Iterable[ApiRoute], invoke: Invoke, *, host: str = "127.0.0.1", port: int = 0,
                 account_id: str = "123456789012", clock: Callable[[], float] = time.time,
                 idle_timeout_s: float = 60.0) -> None:
        self.gateway = Gateway(routes, invoke, account_id=account_id, clock=clock)
        self._address = (host, port)
        self._idle_timeout_s = idle_timeout_s
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ApiGatewayServer:
        """Bind and serve in a background thread; returns self."""
        if self._server is not None:
            return self
        self._server = _Server(self._address, self.gateway, self._idle_timeout_s)
        # Polled often, so a stop does not wait long for the accept loop.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="apigateway", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        """The port listened on (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` (after :meth:`start`)."""
        return f"http://{self._address[0]}:{self.port}"

    def request_stop(self) -> None:
        """Stop accepting new requests on open connections (each is closed after its current answer)."""
        if self._server is not None:
            self._server.stopping.set()

    def stop(self, timeout_s: float = 1.0) -> None:
        """Stop accepting, give requests in flight up to ``timeout_s`` (less ~0.1 s for the accept loop),
        then close every connection and the listening socket."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        deadline = time.monotonic() + timeout_s
        server.stopping.set()
        server.shutdown()  # returns once serve_forever has noticed (poll_interval)
        server.close_connections(max(0.0, deadline - time.monotonic() - 0.05))
        server.server_close()
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> ApiGatewayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
