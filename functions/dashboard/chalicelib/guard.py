"""The one gate every request passes: authentication (all but the public routes), CSRF check for
cookie sessions, error rendering (JSON for /api, HTML for pages) and the security headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalice.app import Request, Response

from chalicelib import deps
from chalicelib.auth import Identity, authenticate, check_csrf
from chalicelib.http import ApiError, base_path, html_response, json_response, redirect, secure

# Everything else needs a merchant identity (default deny).
PUBLIC_ROUTES = frozenset({"/login", "/logout", "/track/{token}", "/static/{name}"})
IDENTITY_ATTR = "dashboard_identity"


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


def guard(request: Request, get_response: Any) -> Response:
    route = request.context.get("resourcePath") or ""
    try:
        if route not in PUBLIC_ROUTES:
            settings = deps.settings()
            who = authenticate(request, settings.auth_mode, settings.session_secret, deps.merchants())
            check_csrf(request, who)
            setattr(request, IDENTITY_ATTR, who)
        response = get_response(request)
    except ApiError as error:
        response = error_response(request, route, error)
    return secure(response, public_cache=route == "/static/{name}")
