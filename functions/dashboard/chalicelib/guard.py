"""The one gate every request passes: authentication (all but the public routes), the origin check
for login and logout, the CSRF check for cookie sessions, error rendering (JSON for /api, HTML for
pages) and the security headers, on every response, errors and failures included."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from chalice.app import Request, Response

from chalicelib import deps
from chalicelib.auth import Identity, authenticate, check_csrf, check_origin
from chalicelib.http import ApiError, base_path, html_response, json_response, redirect, secure

# Everything else needs a merchant identity (default deny).
PUBLIC_ROUTES = frozenset({"/login", "/logout", "/track/{token}", "/static/{name}"})
# Public routes that change what the browser holds (its session cookie): same-origin POSTs only.
ORIGIN_CHECKED = frozenset({"/login", "/logout"})
IDENTITY_ATTR = "dashboard_identity"
# Chalice answers these itself (before the route runs), in its own body format: ours instead.
_ROUTING_ERRORS = {405: "method_not_allowed", 415: "unsupported_media_type"}
log = logging.getLogger("dashboard")


def identity(request: Request) -> Identity:
    found = getattr(request, IDENTITY_ATTR, None)
    if found is None:  # a route outside PUBLIC_ROUTES always has one; this guards against misuse
        raise ApiError(401, "unauthorized", "not authenticated")
    return found


def _is_api(route: str) -> bool:
    return route.startswith("/api/")


def error_response(request: Request, route: str, error: ApiError) -> Response:
    if _is_api(route) or route == "/static/{name}":
        return json_response(error.body(), error.status, error.headers)
    base = base_path(request)
    if error.status == 401 and request.method == "GET":
        path = request.context.get("resolvedPath") or request.context.get("path") or "/"
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in (request.query_params or {}).items())
        target = path + (f"?{query}" if query else "")
        return redirect(f"{base}/login?next={quote(target, safe='')}")
    from chalicelib.views import error_page

    who = getattr(request, IDENTITY_ATTR, None)
    return html_response(error_page(base, error.status, error.message, who.merchant_id if who else None),
                         error.status, error.headers)


def _routing_error(response: Response) -> ApiError | None:
    """Chalice's own 405 / 415 (its ``{"Code", "Message"}`` body) as an ApiError."""
    code = _ROUTING_ERRORS.get(response.status_code)
    if code is None:
        return None
    body = response.body
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict) or "Code" not in body:
        return None
    headers = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
    # Chalice's message quotes the request's Content-Type; ours does not echo headers.
    message = "method not allowed here" if response.status_code == 405 else \
        "unsupported Content-Type for this route (forms: application/x-www-form-urlencoded)"
    return ApiError(response.status_code, code, message, headers=headers)


def guard(request: Request, get_response: Any) -> Response:
    route = request.context.get("resourcePath") or ""
    try:
        try:
            if route in ORIGIN_CHECKED and request.method == "POST":
                check_origin(request)
            if route not in PUBLIC_ROUTES:
                settings = deps.settings()
                who = authenticate(request, settings.auth_mode, settings.session_secret, deps.merchants(),
                                   deps.throttle())
                check_csrf(request, who)
                setattr(request, IDENTITY_ATTR, who)
            response = get_response(request)
            routing = _routing_error(response)
            if routing is not None:
                raise routing
        except ApiError as error:
            response = error_response(request, route, error)
    except Exception:  # a bug: still a plain 500 with the security headers, never a stack trace
        log.exception("unhandled error on %s %s", request.method, route)
        response = json_response({"error": {"code": "internal_error", "message": "internal error"}}, 500)
    return secure(response, public_cache=route == "/static/{name}")
