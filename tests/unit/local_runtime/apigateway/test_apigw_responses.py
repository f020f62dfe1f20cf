"""local_runtime.apigateway.responses: function results -> HTTP responses, and API Gateway's own errors."""

from __future__ import annotations

import base64
import json

import pytest

from local_runtime.apigateway import MalformedResponse, gateway_error, http_response


def test_payload_1_0_response_merges_headers_and_multi_value_headers() -> None:
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/html", "Set-Cookie": "a=1", "X-Count": 3},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Vary": ["Accept", "Cookie"]},
        "body": "<p>hi</p>",
        "isBase64Encoded": False,
    }
    response = http_response(result, "1.0")
    assert response.status == 201
    assert response.headers == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Vary", "Accept"),
                                ("Vary", "Cookie"), ("Content-Type", "text/html"), ("X-Count", "3")]
    assert response.body == b"<p>hi</p>"


def test_payload_1_0_defaults_and_base64_body() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    response = http_response({"statusCode": "200", "body": base64.b64encode(png).decode(), "isBase64Encoded": True},
                             "1.0")
    assert (response.status, response.body) == (200, png)
    assert response.header("content-type") == "application/json"  # API Gateway's default
    empty = http_response({"statusCode": 204}, "1.0")
    assert (empty.status, empty.body) == (204, b"")


def test_framing_headers_from_the_function_are_dropped() -> None:
    response = http_response({"statusCode": 200, "headers": {"Content-Length": "999", "Connection": "close",
                                                             "Transfer-Encoding": "chunked"}, "body": "x"}, "1.0")
    assert [k for k, _ in response.headers] == ["Content-Type"]


@pytest.mark.parametrize("result", [
    None,
    "just a string",
    ["a", "list"],
    {"body": "no status"},
    {"statusCode": 99},
    {"statusCode": True},
    {"statusCode": "abc"},
    {"statusCode": 200, "body": {"not": "a string"}},
    {"statusCode": 200, "headers": ["X-A", "1"]},
    {"statusCode": 200, "headers": {"X-A": {"nested": 1}}},
    {"statusCode": 200, "multiValueHeaders": {"X-A": "not a list"}},
    {"statusCode": 200, "headers": {"X-A": "1\r\nSet-Cookie: injected=1"}},
    {"statusCode": 200, "headers": {"Bad Name": "1"}},
    {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    {"statusCode": 200, "isBase64Encoded": "yes", "body": "x"},
    {"statusCode": 200, "cookies": ["a=1"]},  # not a 1.0 key
    {"statusCode": 200, "extra": 1},
])
def test_malformed_payload_1_0_results(result: object) -> None:
    with pytest.raises(MalformedResponse):
        http_response(result, "1.0")


def test_payload_2_0_cookies_become_set_cookie_headers() -> None:
    response = http_response({"statusCode": 200, "cookies": ["a=1; Path=/", "b=2"], "headers": {"X-A": "1,2"},
                              "body": "ok"}, "2.0")
    assert response.headers == [("X-A", "1,2"), ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2"),
                                ("Content-Type", "application/json")]


@pytest.mark.parametrize(("result", "body"), [
    ("Hello from Lambda!", b"Hello from Lambda!"),  # AWS's documented examples of inferred responses
    ({"message": "Hello from Lambda!"}, json.dumps({"message": "Hello from Lambda!"}).encode()),
    ([1, 2], b"[1, 2]"),
    (7, b"7"),
    (None, b"null"),
])
def test_payload_2_0_simplified_response(result: object, body: bytes) -> None:
    response = http_response(result, "2.0")
    assert (response.status, response.headers, response.body) == (200, [("Content-Type", "application/json")], body)


def test_malformed_payload_2_0_with_status_code() -> None:
    with pytest.raises(MalformedResponse):
        http_response({"statusCode": 200, "cookies": "a=1"}, "2.0")
    with pytest.raises(MalformedResponse):
        http_response({"statusCode": 200, "unknown": True}, "2.0")


def test_gateway_errors_per_api_kind() -> None:
    expected = {
        ("REST", "not_found"): (403, {"message": "Missing Authentication Token"}),
        ("REST", "integration_failure"): (502, {"message": "Internal server error"}),
        ("REST", "timeout"): (504, {"message": "Endpoint request timed out"}),
        ("HTTP", "not_found"): (404, {"message": "Not Found"}),
        ("HTTP", "integration_failure"): (500, {"message": "Internal Server Error"}),
        ("HTTP", "timeout"): (503, {"message": "Service Unavailable"}),
    }
    for (kind, error), (status, body) in expected.items():
        response = gateway_error(kind, error)  # type: ignore[arg-type]
        assert (response.status, json.loads(response.body)) == (status, body)
        assert response.header("Content-Type") == "application/json"
