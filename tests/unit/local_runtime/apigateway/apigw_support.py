"""Shared by the apigateway tests: the fixture template, its routes, routes and requests built by hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from local_runtime.apigateway import ApiRoute, HttpRequest
from local_runtime.cloudformation import Template, load_template
from local_runtime.cloudformation.api_events import api_routes

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "apigateway" / "template.yaml"


def fixture_template(**kwargs: Any) -> Template:
    """The API Gateway fixture template (stage ``test`` unless overridden)."""
    return load_template(FIXTURE, **kwargs)


def fixture_routes() -> dict[str, ApiRoute]:
    """The fixture's routes by event name."""
    return {r.event_name: r for r in api_routes(fixture_template())}


def route(path: str, method: str = "ANY", *, kind: str = "REST", **fields: Any) -> ApiRoute:
    """A route of a REST API (stage ``Prod``) or an HTTP API (stage ``$default``, payload 2.0)."""
    base = ApiRoute(function_logical_id=fields.pop("function", "Fn"), event_name=fields.pop("name", path),
                    kind=kind, api_logical_id="Api", api_id="abc123defg", method=method, path=path,  # type: ignore[arg-type]
                    stage="Prod" if kind == "REST" else "$default",
                    payload_format="1.0" if kind == "REST" else "2.0", timeout_s=29.0)
    return replace(base, **fields)


def request(method: str = "GET", path: str = "/", query: str = "", headers: list[tuple[str, str]] | None = None,
            body: bytes = b"", **fields: Any) -> HttpRequest:
    """A request from 198.51.100.7 to 127.0.0.1:3000."""
    sent = headers if headers is not None else [("Host", "127.0.0.1:3000"), ("User-Agent", "test-agent")]
    return HttpRequest(method=method, raw_path=path, query_string=query, headers=sent, body=body,
                       source_ip=fields.pop("source_ip", "198.51.100.7"), port=fields.pop("port", 3000), **fields)
