"""local_runtime.apigateway.gateway: the fixture template's routes through a fake invoker."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from typing import Any

import pytest

from local_runtime.apigateway import Gateway
from local_runtime.cloudformation.api_events import api_routes
from tests.unit.local_runtime.apigateway.apigw_support import fixture_routes, fixture_template, request


class FakeInvoker:
    """Records every invocation; answers what ``answers[function]`` says (a value, an exception, or a callable)."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        self.calls.append((function, event))
        answer = self.answers.get(function, {"statusCode": 200, "body": "ok"})
        if isinstance(answer, BaseException):
            raise answer
        return answer(event) if callable(answer) else answer


def _gateway(invoker: FakeInvoker, *, only: str | None = None) -> Gateway:
    routes = [r for r in api_routes(fixture_template()) if only is None or r.kind == only]
    return Gateway(routes, invoker.invoke, account_id="111122223333", clock=lambda: 1_700_000_000.5)


def test_rest_route_gets_a_payload_1_0_event_and_its_response_is_sent() -> None:
    invoker = FakeInvoker(ShopFunction={"statusCode": 200, "headers": {"Content-Type": "text/plain"},
                                        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "item 7"})
    response = _gateway(invoker).handle(request("GET", "/items/7", query="full=1"))
    assert response.status == 200 and response.body == b"item 7"
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    ((function, event),) = invoker.calls
    assert function == "ShopFunction"
    assert (event["resource"], event["path"], event["pathParameters"]) == ("/items/{id}", "/items/7", {"id": "7"})
    assert event["queryStringParameters"] == {"full": "1"} and event["stageVariables"] == {"color": "blue"}
    context = event["requestContext"]
    assert (context["stage"], context["path"], context["accountId"]) == ("test", "/test/items/7", "111122223333")
    assert context["requestTimeEpoch"] == 1_700_000_000_500
    assert response.header("x-amzn-RequestId") == context["requestId"]


def test_http_api_route_gets_a_payload_2_0_event() -> None:
    invoker = FakeInvoker(OrdersFunction={"statusCode": 200, "cookies": ["s=1"], "body": "{}"})
    response = _gateway(invoker).handle(request("DELETE", "/orders/7/lines/2",
                                                headers=[("Host", "h"), ("Cookie", "s=0; t=1")]))
    assert response.header("Set-Cookie") == "s=1"
    ((function, event),) = invoker.calls
    assert function == "OrdersFunction"
    assert (event["version"], event["routeKey"], event["pathParameters"]) == (
        "2.0", "ANY /orders/{proxy+}", {"proxy": "7/lines/2"})
    assert event["cookies"] == ["s=0", "t=1"] and "cookie" not in event["headers"]
    assert event["stageVariables"] == {"region": "eu"}


def test_http_api_default_route_and_simplified_response() -> None:
    invoker = FakeInvoker(CatchAllFunction={"route": "x"})
    response = _gateway(invoker, only="HTTP").handle(request("PATCH", "/not/declared"))
    assert (response.status, json.loads(response.body)) == (200, {"route": "x"})
    assert invoker.calls[0][1]["routeKey"] == "$default"


def test_unknown_routes_answer_as_api_gateway_does() -> None:
    invoker = FakeInvoker()
    rest = _gateway(invoker, only="REST").handle(request("GET", "/nope"))
    assert (rest.status, json.loads(rest.body)) == (403, {"message": "Missing Authentication Token"})
    wrong_method = _gateway(invoker, only="REST").handle(request("DELETE", "/items"))
    assert wrong_method.status == 403
    routes = [r for r in fixture_routes().values() if r.kind == "HTTP" and r.path != "$default"]
    http = Gateway(routes, invoker.invoke).handle(request("GET", "/nope"))
    assert (http.status, json.loads(http.body)) == (404, {"message": "Not Found"})
    assert invoker.calls == []


def test_function_error_is_a_502_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    invoker = FakeInvoker(FailFunction=RuntimeError("Runtime.Unhandled: boom"))
    with caplog.at_level(logging.ERROR, logger="local_runtime.apigateway"):
        response = _gateway(invoker).handle(request("GET", "/boom"))
    assert (response.status, json.loads(response.body)) == (502, {"message": "Internal server error"})
    assert "FailFunction" in caplog.text and "boom" in caplog.text


def test_http_api_function_error_is_a_500() -> None:
    invoker = FakeInvoker(OrdersFunction=RuntimeError("boom"))
    response = _gateway(invoker).handle(request("GET", "/orders/1"))
    assert (response.status, json.loads(response.body)) == (500, {"message": "Internal Server Error"})


def test_malformed_response_is_a_502_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    invoker = FakeInvoker(FailFunction={"statusCode": 200, "body": {"not": "a string"}})
    with caplog.at_level(logging.ERROR, logger="local_runtime.apigateway"):
        response = _gateway(invoker).handle(request("GET", "/malformed"))
    assert response.status == 502
    assert "malformed Lambda proxy response" in caplog.text


def test_integration_timeout(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    invoker = FakeInvoker(ShopFunction=lambda event: release.wait(10) and {"statusCode": 200})
    routes = [replace(r, timeout_s=0.05) if r.event_name == "Files" else r for r in api_routes(fixture_template())]
    gateway = Gateway(routes, invoker.invoke)
    try:
        with caplog.at_level(logging.ERROR, logger="local_runtime.apigateway"):
            response = gateway.handle(request("GET", "/files/big.bin"))
    finally:
        release.set()
    assert (response.status, json.loads(response.body)) == (504, {"message": "Endpoint request timed out"})
    assert "timed out" in caplog.text
