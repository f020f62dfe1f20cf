"""HTTP plumbing: JSON errors, security headers, API Gateway proxy routing, stage-aware links."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from chalice.app import ChaliceUnhandledError, Request, Response

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Tracking links carry a token in the path: never leak it to other sites.
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000",
}


class ApiError(ChaliceUnhandledError):
    """An error with an HTTP status and a JSON body. Chalice lets this type through to the middleware."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


def bad_request(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, "bad_request", message, field)


def not_found(what: str = "not found") -> ApiError:
    return ApiError(404, "not_found", what)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body, separators=(",", ":"), default=str)
    return Response(text, status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def html_response(text: str, status: int = 200, headers: dict[str, Any] | None = None) -> Response:
    # A lone surrogate (which no UTF-8 page can hold) becomes '?' here instead of failing the response.
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    return Response(text, status_code=status, headers={"Content-Type": "text/html; charset=utf-8", **(headers or {})})


def redirect(location: str, headers: dict[str, Any] | None = None) -> Response:
    return Response("", status_code=303, headers={"Location": location, **(headers or {})})


def secure(response: Response, public_cache: bool = False) -> Response:
    """Add the security headers every response carries."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "public, max-age=300" if public_cache else "no-store")
    return response


def base_path(request: Request) -> str:
    """The stage prefix API Gateway strips from the path ("/dev" on execute-api URLs, "" locally)."""
    full = request.context.get("path") or ""
    path = request.context.get("resolvedPath") or ""
    if path and full.endswith(path) and full != path:
        return full[: -len(path)].rstrip("/")
    return ""


def path_param(value: str) -> str:
    """Path parameters arrive percent-encoded from some front doors and decoded from others; ids never
    contain '%', so decoding once is safe either way."""
    return unquote(value)


def query(request: Request) -> dict[str, str]:
    """Single-valued query parameters; a repeated parameter is a 400. Empty values count as absent."""
    params: dict[str, str] = {}
    multi = request.query_params
    if multi is None:
        return params
    for name in multi:
        values = multi.getlist(name)
        if len(values) > 1:
            raise bad_request(f"parameter {name!r} is given {len(values)} times", name)
        if values[0] != "":
            params[name] = values[0]
    return params


def match_route(routes: list[str], path: str) -> tuple[str, dict[str, str]] | None:
    """The Chalice route pattern matching a concrete path (literal segments before captures)."""
    if path != "/" and path.endswith("/"):
        path = path[:-1]
    parts = path.split("/")
    for route in sorted(routes):
        pattern = route.split("/")
        if len(pattern) != len(parts):
            continue
        captured: dict[str, str] = {}
        for part, want in zip(parts, pattern, strict=True):
            if want.startswith("{") and want.endswith("}"):
                if not part:
                    break
                captured[want[1:-1]] = part
            elif part != want:
                break
        else:
            return route, captured
    return None


def drop_body_type(event: dict[str, Any]) -> None:
    """A GET or HEAD has no body, so its Content-Type says nothing: remove it, or Chalice would answer a
    GET sent with, say, ``Content-Type: text/plain`` with a 415 (it checks every route's content types,
    ``application/json`` by default, whatever the method)."""
    method = (event.get("requestContext") or {}).get("httpMethod") or event.get("httpMethod")
    if method not in ("GET", "HEAD"):
        return
    for field in ("headers", "multiValueHeaders"):
        headers = event.get(field)
        if isinstance(headers, dict):
            for name in [n for n in headers if isinstance(n, str) and n.lower() == "content-type"]:
                del headers[name]


def resolve_proxy_event(event: dict[str, Any], routes: list[str]) -> dict[str, Any] | None:
    """API Gateway behind the template's ``/{proxy+}`` resource sends resourcePath "/{proxy+}"; Chalice
    dispatches on resourcePath, so map the real path to the route it belongs to first.
    Returns None when no route matches."""
    context = event.get("requestContext") or {}
    resource = context.get("resourcePath")
    path = event.get("path") or context.get("path") or "/"
    if resource is None or (resource in routes and "{proxy+}" not in resource):
        context.setdefault("resolvedPath", path)
        return event
    matched = match_route(routes, path)
    context["resolvedPath"] = path
    if matched is None:
        return None
    context["resourcePath"], event["pathParameters"] = matched
    return event
