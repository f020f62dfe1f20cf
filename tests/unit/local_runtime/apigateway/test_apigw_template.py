"""local_runtime.cloudformation.api_events: routes from a template's Api and HttpApi events."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_runtime.cloudformation import TemplateError, load_template
from local_runtime.cloudformation.api_events import api_routes
from tests.unit.local_runtime.apigateway.apigw_support import fixture_routes, fixture_template

ROOT = Path(__file__).resolve().parents[4]


def test_rest_routes_of_an_explicit_api() -> None:
    routes = fixture_routes()
    get_item = routes["GetItem"]
    assert (get_item.kind, get_item.api_logical_id, get_item.method, get_item.path) == (
        "REST", "ShopApi", "GET", "/items/{id}")
    assert (get_item.stage, get_item.payload_format, get_item.timeout_s) == ("test", "1.0", 29.0)
    assert get_item.stage_variables == {"color": "blue"}
    assert get_item.binary_media_types == ("image/png",)  # Globals.Api, "~1" unescaped
    assert routes["ListItems"].method == "GET"  # "get" in the template
    files = routes["Files"]
    assert (files.method, files.path, files.timeout_s) == ("ANY", "/files/{proxy+}", 2.0)


def test_the_implicit_rest_api_is_stage_prod() -> None:
    hello = fixture_routes()["Hello"]
    assert (hello.api_logical_id, hello.stage, hello.stage_variables) == ("ServerlessRestApi", "Prod", {})
    assert hello.binary_media_types == ("image/png",)
    assert hello.api_id != fixture_routes()["GetItem"].api_id


def test_http_api_routes_payload_formats_and_default_route() -> None:
    routes = fixture_routes()
    order = routes["GetOrder"]
    assert (order.kind, order.api_logical_id, order.stage, order.payload_format) == (
        "HTTP", "OrdersApi", "$default", "2.0")
    assert (order.route_key, order.timeout_s, order.stage_variables) == ("GET /orders/{id}", 30.0, {"region": "eu"})
    assert routes["Orders"].route_key == "ANY /orders/{proxy+}"
    assert routes["Legacy"].payload_format == "1.0"
    default = routes["Default"]
    assert (default.api_logical_id, default.path, default.method, default.route_key) == (
        "ServerlessHttpApi", "$default", "ANY", "$default")


def test_only_api_events_in_template_order() -> None:
    names = [r.event_name for r in api_routes(fixture_template())]
    assert names == ["ListItems", "CreateItem", "GetItem", "Files", "Hello", "Boom", "Malformed", "GetOrder",
                     "Orders", "Legacy", "Default"]  # QueueFunction's SQS event is not a route


def test_stage_name_from_a_parameter_and_stable_api_ids() -> None:
    prod = {r.event_name: r for r in api_routes(fixture_template(parameter_overrides={"Stage": "live"}))}
    assert prod["GetItem"].stage == "live"
    assert prod["GetItem"].api_id == fixture_routes()["GetItem"].api_id  # same stack and API: same id
    other = {r.event_name: r for r in api_routes(fixture_template(stack_name="other"))}
    assert other["GetItem"].api_id != prod["GetItem"].api_id
    assert len(prod["GetItem"].api_id) == 10 and prod["GetItem"].api_id.isalnum()


def test_repository_dashboard_routes() -> None:
    routes = api_routes(load_template(ROOT / "template.yaml", config_env="local"))
    assert [(r.function_logical_id, r.method, r.path, r.stage, r.api_logical_id) for r in routes] == [
        ("DashboardFunction", "ANY", "/", "dev", "DashboardApi"),
        ("DashboardFunction", "ANY", "/{proxy+}", "dev", "DashboardApi"),
    ]


def _template(tmp_path: Path, events: str, extra: str = "") -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(f"""
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      InlineCode: "def handler(e, c): return e"
      Events:
{events}
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {{}}
{extra}
""", encoding="utf-8")
    return path


@pytest.mark.parametrize(("events", "message"), [
    ("        E: {Type: Api, Properties: {Method: get}}", "needs Path and Method"),
    ("        E: {Type: HttpApi, Properties: {Path: /x}}", "needs Path and Method"),
    ("        E: {Type: Api, Properties: {Path: /x, Method: FETCH}}", "Method 'FETCH'"),
    ("        E: {Type: Api, Properties: {Path: x, Method: get}}", "must start with '/'"),
    ("        E: {Type: Api, Properties: {Path: '/{proxy+}/x', Method: get}}", "final {name+}"),
    ("        E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: !Ref Table}}",
     "not an AWS::Serverless::Api"),
    ("        E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: !Ref Nope}}", "not a resource"),
    ("        E: {Type: HttpApi, Properties: {Path: /x, Method: get, PayloadFormatVersion: '3.0'}}",
     "not 1.0 or 2.0"),
    ("        A: {Type: Api, Properties: {Path: /x, Method: get}}\n"
     "        B: {Type: Api, Properties: {Path: /x/, Method: GET}}", "also declared by Fn.A"),
])
def test_invalid_api_events(tmp_path: Path, events: str, message: str) -> None:
    with pytest.raises(TemplateError, match=r"Resources\.Fn\.Properties\.Events") as info:
        api_routes(load_template(_template(tmp_path, events)))
    assert message in str(info.value)


def test_same_path_on_two_apis_is_two_routes(tmp_path: Path) -> None:
    events = ("        A: {Type: Api, Properties: {Path: /x, Method: get}}\n"
              "        B: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: !Ref Other}}")
    extra = "  Other:\n    Type: AWS::Serverless::Api\n    Properties: {StageName: v1}"
    routes = api_routes(load_template(_template(tmp_path, events, extra)))
    assert [(r.api_logical_id, r.stage) for r in routes] == [("ServerlessRestApi", "Prod"), ("Other", "v1")]
