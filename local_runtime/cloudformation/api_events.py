"""SAM ``Api`` and ``HttpApi`` function events -> :class:`~local_runtime.apigateway.spec.ApiRoute`, with the
settings of the API each belongs to (an explicit ``AWS::Serverless::Api`` / ``HttpApi`` through ``RestApiId`` /
``ApiId``, else the implicit ``ServerlessRestApi`` / ``ServerlessHttpApi`` SAM creates) and SAM's defaults.

Routes declared only in an API's ``DefinitionBody`` / ``DefinitionUri`` (OpenAPI) are not read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from local_runtime.apigateway.spec import DEFAULT_ROUTE, ApiKind, ApiRoute, PayloadFormat
from local_runtime.cloudformation.errors import TemplateError
from local_runtime.cloudformation.values import int_in_range, to_str

if TYPE_CHECKING:
    from local_runtime.cloudformation.template import Resource, Template

__all__ = ["IMPLICIT_HTTP_API", "IMPLICIT_REST_API", "api_routes"]

IMPLICIT_REST_API = "ServerlessRestApi"
IMPLICIT_HTTP_API = "ServerlessHttpApi"
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
# Per event type: the API resource type, the property naming it, the implicit API, its stage, the default
# integration timeout (REST 29 s, HTTP API 30 s) and the property of the API holding stage variables.
_KINDS: dict[str, tuple[ApiKind, str, str, str, str, int, str]] = {
    "Api": ("REST", "AWS::Serverless::Api", "RestApiId", IMPLICIT_REST_API, "Prod", 29_000, "Variables"),
    "HttpApi": ("HTTP", "AWS::Serverless::HttpApi", "ApiId", IMPLICIT_HTTP_API, "$default", 30_000,
                "StageVariables"),
}
_SEGMENT = re.compile(r"[^{}]*|\{[A-Za-z0-9._-]+\+?\}")


def api_routes(t: Template) -> list[ApiRoute]:
    """Every ``Api`` and ``HttpApi`` event of every ``AWS::Serverless::Function`` of ``t``, in template order."""
    routes: list[ApiRoute] = []
    seen: dict[tuple[str, str, str], str] = {}
    for resource in t.resources.values():
        if resource.type != "AWS::Serverless::Function":
            continue
        for event_name, event in (resource.raw_properties.get("Events") or {}).items():
            etype = event.get("Type") if isinstance(event, dict) else None
            if etype not in _KINDS:
                continue
            epath = f"{resource.path}.Properties.Events.{event_name}"
            route = _route(t, resource, event_name, etype, event.get("Properties") or {}, epath)
            key = (route.api_logical_id, route.method, route.path)
            if key in seen:
                raise TemplateError(f"{route.method} {route.path} of {route.api_logical_id} is also declared by "
                                    f"{seen[key]}", epath)
            seen[key] = f"{resource.logical_id}.{event_name}"
            routes.append(route)
    return routes


def _route(t: Template, fn: Resource, event_name: str, etype: str, props: Mapping[str, Any],
           epath: str) -> ApiRoute:
    kind, api_type, api_prop, implicit, implicit_stage, default_timeout, _ = _KINDS[etype]
    ppath = f"{epath}.Properties"

    def get(key: str) -> Any:
        return t.resolve(props[key], f"{ppath}.{key}") if key in props else None

    api_logical_id = implicit
    if api_prop in props:
        api_logical_id = _referenced_api(t, props[api_prop], api_type, f"{ppath}.{api_prop}")
    path, method = get("Path"), get("Method")
    if kind == "HTTP" and path is None and method is None:
        path, method = DEFAULT_ROUTE, "ANY"  # SAM: an HttpApi event without Path and Method is the $default route
    if path is None or method is None:
        raise TemplateError(f"an {etype} event needs Path and Method", ppath)
    path = _route_path(to_str(path, f"{ppath}.Path"), kind, f"{ppath}.Path")
    method = to_str(method, f"{ppath}.Method").upper()
    if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
        method = "ANY"
    if method not in _METHODS:
        raise TemplateError(f"Method {method!r} is not one of {', '.join(sorted(_METHODS))}", f"{ppath}.Method")
    payload: PayloadFormat = "1.0"
    if kind == "HTTP":
        declared = get("PayloadFormatVersion")
        api_default = _api_property(t, api_logical_id, "HTTP", "PayloadFormatVersion")
        payload_raw = to_str(declared if declared is not None else api_default or "2.0",
                             f"{ppath}.PayloadFormatVersion")
        if payload_raw not in ("1.0", "2.0"):
            raise TemplateError(f"PayloadFormatVersion {payload_raw!r} is not 1.0 or 2.0",
                                f"{ppath}.PayloadFormatVersion")
        payload = "2.0" if payload_raw == "2.0" else "1.0"
    timeout_ms = default_timeout
    if (declared_timeout := get("TimeoutInMillis")) is not None:
        timeout_ms = int_in_range(declared_timeout, 50, default_timeout if kind == "HTTP" else 900_000,
                                  f"{ppath}.TimeoutInMillis")
    stage = _api_property(t, api_logical_id, kind, "StageName")
    return ApiRoute(
        function_logical_id=fn.logical_id,
        event_name=event_name,
        kind=kind,
        api_logical_id=api_logical_id,
        api_id=_api_id(t, api_logical_id),
        method=method,
        path=path,
        stage=to_str(stage, f"Resources.{api_logical_id}.Properties.StageName") if stage else implicit_stage,
        payload_format=payload,
        timeout_s=timeout_ms / 1000,
        binary_media_types=_binary_media_types(t, api_logical_id) if kind == "REST" else (),
        stage_variables=_stage_variables(t, api_logical_id, etype),
    )


def _referenced_api(t: Template, raw: Any, api_type: str, path: str) -> str:
    """The logical id of the API a ``RestApiId`` / ``ApiId`` refers to (``!Ref MyApi``)."""
    target = raw.get("Ref") if isinstance(raw, dict) and len(raw) == 1 else None
    if not isinstance(target, str):
        raise TemplateError(f"expected !Ref to an {api_type} of this template, got {raw!r}", path)
    resource = t.resources.get(target)
    if resource is None or resource.type != api_type:
        found = f"a {resource.type}" if resource else "not a resource of this template"
        raise TemplateError(f"{target!r} is {found}, not an {api_type}", path)
    return target


def _route_path(path: str, kind: ApiKind, where: str) -> str:
    if kind == "HTTP" and path == DEFAULT_ROUTE:
        return path
    if not path.startswith("/"):
        raise TemplateError(f"Path {path!r} must start with '/'", where)
    segments = path.strip("/").split("/") if path != "/" else []
    for i, segment in enumerate(segments):
        if not _SEGMENT.fullmatch(segment) or (segment.endswith("+}") and i != len(segments) - 1):
            raise TemplateError(f"Path {path!r}: {segment!r} is not a literal, a {{name}} or a final {{name+}}",
                                where)
    return "/" + "/".join(segments)


def _api_definition(t: Template, api_logical_id: str, kind: ApiKind) -> tuple[Mapping[str, Any], str]:
    """The raw properties of an API (for the implicit one: the Globals section SAM applies to it) and their path."""
    resource = t.resources.get(api_logical_id)
    if resource is not None:
        return resource.raw_properties, f"{resource.path}.Properties"
    section = "Api" if kind == "REST" else "HttpApi"
    globals_ = (t.data.get("Globals") or {}).get(section) or {}
    return (globals_ if isinstance(globals_, dict) else {}), f"Globals.{section}"


def _api_property(t: Template, api_logical_id: str, kind: ApiKind, key: str) -> Any:
    if key == "StageName" and api_logical_id in (IMPLICIT_REST_API, IMPLICIT_HTTP_API):
        return None  # the implicit APIs' stages are always Prod / $default
    props, ppath = _api_definition(t, api_logical_id, kind)
    return t.resolve(props[key], f"{ppath}.{key}") if key in props else None


def _binary_media_types(t: Template, api_logical_id: str) -> tuple[str, ...]:
    raw = _api_property(t, api_logical_id, "REST", "BinaryMediaTypes") or []
    if not isinstance(raw, list):
        raise TemplateError("BinaryMediaTypes must be a list", f"Resources.{api_logical_id}.Properties")
    # SAM escapes '/' as '~1' (a JSON pointer escape): image~1png is image/png.
    return tuple(to_str(v, "BinaryMediaTypes").replace("~1", "/").lower() for v in raw)


def _stage_variables(t: Template, api_logical_id: str, etype: str) -> dict[str, str]:
    kind, *_, prop = _KINDS[etype]
    raw = _api_property(t, api_logical_id, kind, prop) or {}
    if not isinstance(raw, dict):
        raise TemplateError(f"{prop} must be a map", f"Resources.{api_logical_id}.Properties.{prop}")
    return {str(k): to_str(v, f"Resources.{api_logical_id}.Properties.{prop}.{k}") for k, v in raw.items()}


def _api_id(t: Template, api_logical_id: str) -> str:
    """A stable 10-character id per stack and API, shaped like API Gateway's (lower-case letters and digits)."""
    digest = int.from_bytes(hashlib.sha256(f"{t.context.stack_name}/{api_logical_id}".encode()).digest()[:8], "big")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    chars = []
    for _ in range(10):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)
