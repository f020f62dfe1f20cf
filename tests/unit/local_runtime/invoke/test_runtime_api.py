"""local_runtime.invoke.runtime_api: the Lambda Runtime API as a runtime client sees it, over real sockets."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from local_runtime.invoke.runtime_api import Invocation, RuntimeApiServer

API = "/2018-06-01/runtime"


@pytest.fixture
def server() -> Iterator[RuntimeApiServer]:
    api = RuntimeApiServer("test")
    yield api
    api.close()


def connect(server: RuntimeApiServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)


def invocation(request_id: str = "req-1", body: bytes = b'{"k": 1}') -> Invocation:
    return Invocation(request_id, body, deadline_ms=1_800_000_000_000, function_arn="arn:aws:lambda:f")


def test_next_waits_for_an_invocation_and_marks_the_end_of_init(server: RuntimeApiServer) -> None:
    conn = connect(server)
    answer: dict[str, object] = {}

    def ask() -> None:
        conn.request("GET", f"{API}/invocation/next")
        response = conn.getresponse()
        answer.update(status=response.status, headers=dict(response.getheaders()), body=response.read())

    thread = threading.Thread(target=ask)
    thread.start()
    assert server.ready.wait(5) and server.ready_at is not None
    assert thread.is_alive()  # nothing to do yet: the request waits
    inv = invocation()
    server.submit(inv)
    thread.join(5)
    headers = answer["headers"]
    assert isinstance(headers, dict)
    assert answer["status"] == 200 and answer["body"] == b'{"k": 1}'
    assert headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
    assert headers["Lambda-Runtime-Deadline-Ms"] == "1800000000000"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == "arn:aws:lambda:f"
    assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
    assert headers["Content-Type"] == "application/json"
    assert inv.sent_at is not None and server.current is inv
    conn.close()


def test_a_response_settles_the_invocation_on_the_same_connection(server: RuntimeApiServer) -> None:
    conn = connect(server)
    inv = invocation()
    server.submit(inv)
    conn.request("GET", f"{API}/invocation/next")
    conn.getresponse().read()
    conn.request("POST", f"{API}/invocation/req-1/response", body=b'{"ok": true}')
    response = conn.getresponse()
    assert (response.status, response.read()) == (202, b'{"status":"OK"}')
    assert inv.done.is_set() and inv.outcome is not None
    assert (inv.outcome.kind, inv.outcome.body) == ("response", b'{"ok": true}')
    conn.request("POST", f"{API}/invocation/req-1/error", body=b"{}")  # settled already: the first one counts
    assert conn.getresponse().status == 202
    assert inv.outcome.kind == "response"
    conn.close()


def test_an_error_keeps_its_payload_and_type_header(server: RuntimeApiServer) -> None:
    conn = connect(server)
    inv = invocation("req-2")
    server.submit(inv)
    conn.request("GET", f"{API}/invocation/next")
    conn.getresponse().read()
    payload = json.dumps({"errorType": "ValueError", "errorMessage": "bad"}).encode()
    conn.request("POST", f"{API}/invocation/req-2/error", body=payload,
                 headers={"Lambda-Runtime-Function-Error-Type": "ValueError"})
    assert conn.getresponse().status == 202
    assert inv.outcome is not None and inv.outcome.kind == "error"
    assert (inv.outcome.body, inv.outcome.error_type) == (payload, "ValueError")


def test_an_unknown_request_id_or_route_is_refused(server: RuntimeApiServer) -> None:
    conn = connect(server)
    conn.request("POST", f"{API}/invocation/nobody/response", body=b"{}")
    response = conn.getresponse()
    assert response.status == 400 and json.loads(response.read())["errorType"] == "InvalidRequestID"
    conn.request("GET", "/2018-06-01/elsewhere")
    assert conn.getresponse().status == 404


def test_an_init_error_is_kept_and_wakes_whoever_waits(server: RuntimeApiServer) -> None:
    conn = connect(server)
    body = json.dumps({"errorType": "Runtime.ImportModuleError", "errorMessage": "nope"}).encode()
    conn.request("POST", f"{API}/init/error", body=body,
                 headers={"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
    assert conn.getresponse().status == 202
    assert server.ready.is_set() and server.ready_at is None
    assert server.init_error is not None and server.init_error.body == body


def test_expect_continue_and_chunked_bodies(server: RuntimeApiServer) -> None:
    inv = invocation("req-3")
    server.submit(inv)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET {API}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = b""
        while b'{"k": 1}' not in received:
            received += sock.recv(65536)
        sock.sendall(f"POST {API}/invocation/req-3/response HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 202 Accepted")
    assert inv.outcome is not None and inv.outcome.body == b'{"a":1}'


def test_close_ends_a_waiting_next(server: RuntimeApiServer) -> None:
    conn = connect(server)
    failed = threading.Event()

    def ask() -> None:
        try:
            conn.request("GET", f"{API}/invocation/next")
            conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            failed.set()

    thread = threading.Thread(target=ask)
    thread.start()
    assert server.ready.wait(5)
    server.close()
    server.close()
    thread.join(5)
    assert failed.is_set()
