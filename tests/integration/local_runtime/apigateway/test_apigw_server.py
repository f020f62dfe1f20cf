"""local_runtime.apigateway.server over real sockets: concurrency, keep-alive, large and binary bodies,
clients that leave mid-response, and stopping."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local_runtime.apigateway import MAX_BODY_BYTES, ApiGatewayServer
from tests.unit.local_runtime.apigateway.apigw_support import route

ROUTES = [route("/echo/{proxy+}", "ANY", function="Echo"), route("/", "GET", function="Echo")]


class Functions:
    """A fake invoker: ``Echo`` answers the event back (or runs ``self.hook(event)`` first)."""

    def __init__(self) -> None:
        self.hook: Any = None
        self.events: list[dict[str, Any]] = []

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if self.hook is not None:
            answer = self.hook(event)
            if answer is not None:
                return answer
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}


@pytest.fixture
def functions() -> Functions:
    return Functions()


@pytest.fixture
def server(functions: Functions) -> Iterator[ApiGatewayServer]:
    with ApiGatewayServer(ROUTES, functions.invoke) as running:
        yield running


def _connect(server: ApiGatewayServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)


def _get(server: ApiGatewayServer, path: str, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPResponse, bytes]:
    conn = _connect(server)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response, response.read()
    finally:
        conn.close()


def test_serves_events_and_unknown_routes(server: ApiGatewayServer) -> None:
    status, response, body = _get(server, "/echo/a/b?x=1", headers={"X-Test": "yes"})
    event = json.loads(body)
    assert status == 200 and response.getheader("x-amzn-RequestId") == event["requestContext"]["requestId"]
    assert (event["path"], event["pathParameters"], event["queryStringParameters"]) == (
        "/echo/a/b", {"proxy": "a/b"}, {"x": "1"})
    assert event["headers"]["X-Test"] == "yes" and event["headers"]["X-Forwarded-Port"] == str(server.port)
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    status, _, body = _get(server, "/nowhere")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})


def test_concurrent_requests_are_served_together(server: ApiGatewayServer, functions: Functions) -> None:
    # Each invocation waits until the other one is running too: a server handling one request at a time
    # would break the barrier instead.
    barrier = threading.Barrier(2, timeout=20)

    def meet(event: dict[str, Any]) -> None:
        barrier.wait()

    functions.hook = meet
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(_get(server, "/echo/x")[0])) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200, 200]


def test_keep_alive_reuses_one_connection(server: ApiGatewayServer, functions: Functions) -> None:
    conn = _connect(server)
    try:
        conn.request("GET", "/echo/1")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        conn.request("POST", "/echo/2", body=b"{}", headers={"Content-Type": "application/json"})
        second = conn.getresponse()
        second.read()
        assert (first.status, second.status) == (200, 200)
        assert sock is not None and conn.sock is sock  # no reconnect in between
        assert first.getheader("Connection") is None  # HTTP/1.1: persistent by default
    finally:
        conn.close()
    assert [e["httpMethod"] for e in functions.events] == ["GET", "POST"]


def test_bodies_up_to_10_mb_and_413_beyond(server: ApiGatewayServer, functions: Functions) -> None:
    functions.hook = lambda event: {"statusCode": 200, "body": str(len(event["body"]))}
    status, _, body = _get(server, "/echo/big", "POST", body=b"a" * MAX_BODY_BYTES,
                           headers={"Content-Type": "text/plain"})
    assert (status, body) == (200, str(MAX_BODY_BYTES).encode())
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(f"POST /echo/big HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode())
        answer = _read_all(raw)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in answer
    assert answer.endswith(b'{"message": "Request Too Long"}')
    assert len(functions.events) == 1  # the oversized request never reached the function


def test_binary_bodies_both_ways(server: ApiGatewayServer, functions: Functions) -> None:
    payload = bytes(range(256)) * 4
    functions.hook = lambda event: {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
                                    "body": event["body"], "isBase64Encoded": event["isBase64Encoded"]}
    status, response, body = _get(server, "/echo/bin", "PUT", body=payload,
                                  headers={"Content-Type": "application/octet-stream"})
    assert (status, body) == (200, payload)
    event = functions.events[-1]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == payload
    assert response.getheader("Content-Length") == str(len(payload))


def test_chunked_request_body(server: ApiGatewayServer, functions: Functions) -> None:
    conn = _connect(server)
    try:
        conn.request("POST", "/echo/chunks", body=iter([b"hello ", b"chunked ", b"world"]),
                     headers={"Content-Type": "text/plain"}, encode_chunked=True)
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    finally:
        conn.close()
    assert functions.events[-1]["body"] == "hello chunked world"


@pytest.mark.parametrize("framing", [b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", b"Content-Length: many\r\n\r\n",
                                     b"Transfer-Encoding: chunked\r\n\r\n-5\r\n"])
def test_bad_body_framing_is_a_400(server: ApiGatewayServer, functions: Functions, framing: bytes) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(b"POST /echo/x HTTP/1.1\r\nHost: x\r\n" + framing)
        assert _read_all(raw).startswith(b"HTTP/1.1 400 ")
    assert functions.events == []


def test_client_gone_mid_body(server: ApiGatewayServer, functions: Functions,
                              capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="local_runtime.apigateway"):
        for framing in (b"Content-Length: 100\r\n\r\nonly ten..", b"Transfer-Encoding: chunked\r\n\r\n64\r\nshort"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
                raw.sendall(b"POST /echo/x HTTP/1.1\r\nHost: x\r\n" + framing)
        deadline = time.monotonic() + 20
        while caplog.text.count("mid-body") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert caplog.text.count("mid-body") == 2
    assert functions.events == []
    assert _get(server, "/echo/after")[0] == 200
    assert "Traceback" not in capfd.readouterr().err


def test_head_sends_headers_only(server: ApiGatewayServer, functions: Functions) -> None:
    functions.hook = lambda event: {"statusCode": 200, "body": "twelve bytes"}
    conn = _connect(server)
    try:
        conn.request("HEAD", "/echo/h")
        response = conn.getresponse()
        assert (response.status, response.read(), response.getheader("Content-Length")) == (200, b"", "12")
        conn.request("GET", "/echo/h")  # the connection is still in step
        assert conn.getresponse().read() == b"twelve bytes"
    finally:
        conn.close()


def test_client_leaving_mid_response_is_no_traceback(server: ApiGatewayServer, functions: Functions,
                                                     capfd: pytest.CaptureFixture[str],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    functions.hook = lambda event: {"statusCode": 200, "body": "x" * (32 * 1024 * 1024)}
    with caplog.at_level(logging.DEBUG, logger="local_runtime.apigateway"):
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.sendall(b"GET /echo/huge HTTP/1.1\r\nHost: x\r\n\r\n")
        assert raw.recv(1024).startswith(b"HTTP/1.1 200")
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # close = RST
        raw.close()
        deadline = time.monotonic() + 20
        while "gone mid-response" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "gone mid-response" in caplog.text
    functions.hook = None
    assert _get(server, "/echo/after")[0] == 200  # still serving
    assert "Traceback" not in capfd.readouterr().err


def test_stop_is_quick_closes_idle_connections_and_frees_the_port(functions: Functions) -> None:
    server = ApiGatewayServer(ROUTES, functions.invoke).start()
    port = server.port
    idle = _connect(server)
    idle.request("GET", "/echo/idle")
    idle.getresponse().read()
    release = threading.Event()

    def wait(event: dict[str, Any]) -> None:
        release.wait(30)

    functions.hook = wait
    stuck = socket.create_connection(("127.0.0.1", port), timeout=30)
    stuck.sendall(b"GET /echo/stuck HTTP/1.1\r\nHost: x\r\n\r\n")
    while len(functions.events) < 2:
        time.sleep(0.01)
    started = time.monotonic()
    try:
        server.stop(timeout_s=1.0)
        elapsed = time.monotonic() - started
        assert idle.sock is not None and idle.sock.recv(1) == b""  # the idle keep-alive connection was closed
        assert _read_all(stuck) == b""  # so was the one whose function still runs
    finally:
        release.set()
        idle.close()
        stuck.close()
    assert elapsed < 3.0  # a generous bound on the 1 s goal: the goal itself is for benchmarks
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_stop_lets_a_request_in_flight_finish(functions: Functions) -> None:
    server = ApiGatewayServer(ROUTES, functions.invoke).start()
    entered = threading.Event()
    release = threading.Event()

    def slow(event: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(10)
        return {"statusCode": 200, "body": "done"}

    functions.hook = slow
    result: list[Any] = []
    client = threading.Thread(target=lambda: result.append(_get(server, "/echo/slow")))
    client.start()
    assert entered.wait(10)
    server.request_stop()
    stopper = threading.Thread(target=server.stop, kwargs={"timeout_s": 5.0})
    stopper.start()
    release.set()
    stopper.join(10)
    client.join(10)
    status, response, body = result[0]
    assert (status, body, response.getheader("Connection")) == (200, b"done", "close")


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
