"""The fixture template's REST and HTTP APIs served with the real invoker (worker processes, no AWS needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from local_runtime.apigateway import ApiGatewayServer
from local_runtime.cloudformation.api_events import api_routes
from local_runtime.invoke import Invoker, ListSink
from tests.unit.local_runtime.apigateway.apigw_support import fixture_template

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    template = fixture_template()
    with Invoker(template.functions(), region="us-east-1", log_sink=ListSink()) as invoker, \
            ApiGatewayServer(api_routes(template), invoker.invoke) as server:
        yield server.url


def test_rest_route_with_path_parameter_and_stage(url: str) -> None:
    response = requests.get(f"{url}/items/42?full=1&full=2", timeout=60)
    event = response.json()
    assert response.status_code == 200
    assert (event["resource"], event["path"], event["pathParameters"]) == ("/items/{id}", "/items/42", {"id": "42"})
    assert event["multiValueQueryStringParameters"] == {"full": ["1", "2"]}
    assert (event["requestContext"]["stage"], event["requestContext"]["path"]) == ("test", "/test/items/42")
    assert event["stageVariables"] == {"color": "blue"}
    staged = requests.get(f"{url}/test/items/42", timeout=60).json()  # the execute-api form of the same URL
    assert (staged["path"], staged["requestContext"]["path"]) == ("/items/42", "/test/items/42")


def test_implicit_rest_api_and_set_cookie_from_multi_value_headers(url: str) -> None:
    response = requests.get(f"{url}/hello?cookies=1", timeout=60)
    assert response.json()["requestContext"]["stage"] == "Prod"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]


def test_binary_request_and_response(url: str) -> None:
    upload = bytes(range(256))
    event = requests.post(f"{url}/files/a/b.bin", data=upload, timeout=60,
                          headers={"Content-Type": "application/octet-stream"}).json()
    assert event["isBase64Encoded"] is True and event["pathParameters"] == {"proxy": "a/b.bin"}
    png = requests.get(f"{url}/files/x.png?png=1", timeout=60)
    assert png.headers["Content-Type"] == "image/png" and png.content.startswith(PNG_MAGIC)


def test_function_error_and_malformed_response_are_502(url: str) -> None:
    for path in ("/boom", "/malformed"):
        response = requests.get(f"{url}{path}", timeout=60)
        assert (response.status_code, response.json()) == (502, {"message": "Internal server error"})


def test_http_api_routes_cookies_and_payload_1_0(url: str) -> None:
    response = requests.get(f"{url}/orders/9?cookies=1", cookies={"sid": "s1"}, timeout=60)
    event = response.json()
    assert (event["version"], event["routeKey"], event["pathParameters"]) == ("2.0", "GET /orders/{id}", {"id": "9"})
    assert event["cookies"] == ["sid=s1"] and "cookie" not in event["headers"]
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    legacy = requests.get(f"{url}/legacy", timeout=60).json()
    assert (legacy["version"], legacy["resource"], legacy["requestContext"]["stage"]) == ("1.0", "/legacy", "$default")


def test_http_api_default_route_answers_the_simplified_response(url: str) -> None:
    response = requests.put(f"{url}/anything/else", timeout=60)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.json() == {"route": "$default", "path": "/anything/else"}
    assert json.loads(requests.get(f"{url}/", timeout=60).text)["route"] == "$default"
