"""HTML page handlers: check the query string, run the use case (``usecases``, shared with the JSON
API), render with ``views``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

from chalice.app import Request, Response

from chalicelib import auth, usecases, validation, views
from chalicelib.http import base_path, html_response, not_found, redirect
from chalicelib.validation import ListRequest

STATIC_DIR = Path(__file__).parent / "static"
STATIC_TYPES = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
_static_cache: dict[str, str] = {}


def static(name: str) -> Response:
    """GET /static/{name}: the page script, stylesheet and icon."""
    if name not in STATIC_TYPES:
        raise not_found("no such file")
    if name not in _static_cache:
        _static_cache[name] = (STATIC_DIR / name).read_text(encoding="utf-8")
    return Response(_static_cache[name], status_code=200, headers={"Content-Type": STATIC_TYPES[name]})


def _safe_next(value: str | None) -> str:
    """Only our own paths: a relative path, never '//host' or a scheme."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_form(request: Request, params: dict[str, str]) -> Response:
    """GET /login."""
    return html_response(views.login_page(base_path(request), next_path=_safe_next(params.get("next"))))


def login(request: Request) -> Response:
    """POST /login: a valid API key gets the session cookie and a redirect to ``next``."""
    base = base_path(request)
    raw = request.raw_body
    form = parse_qs(raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw)
    key = (form.get("api_key") or [""])[0].strip()
    next_path = _safe_next((form.get("next") or ["/"])[0])
    session = usecases.sign_in(key)
    if session is None:
        return html_response(views.login_page(base, "That API key is not valid.", next_path), 401)
    return redirect(f"{base}{next_path}", {"Set-Cookie": auth.session_cookie(session, auth.is_https(request))})


def logout(request: Request) -> Response:
    """POST /logout: clears the session cookie."""
    return redirect(f"{base_path(request)}/login", {"Set-Cookie": auth.clear_cookie(auth.is_https(request))})


def overview(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    """GET /: KPI tiles, charts, latest updates, attention."""
    validation.allow_only(params, set())
    found = usecases.overview(merchant_id)
    return html_response(views.overview_page(base_path(request), merchant_id, found.kpis, found.recent,
                                             found.attention, found.since))


def shipments(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    """GET /shipments: the filtered list, or search results with ``q``."""
    base = base_path(request)
    since = usecases.latest_key(merchant_id)
    if "q" in params:
        validation.allow_only(params, {"q"})
        rows = usecases.search(merchant_id, validation.search_term(params))
        return html_response(views.shipments_page(base, merchant_id, params, rows, None, params["q"], since, None))
    listing = ListRequest.parse(params)
    found = usecases.list_shipments(merchant_id, listing.filter, listing.limit, listing.cursor)
    note = f"Newest first · index {found.index}"
    if found.budget_exhausted:
        note += " · this page stopped after its read budget; the next page continues"
    return html_response(views.shipments_page(base, merchant_id, params, found.rows, found.next_cursor, None, since,
                                              note))


def shipment(request: Request, merchant_id: str, shipment_id: str) -> Response:
    """GET /shipments/{id}: timeline, route, notifications."""
    found = usecases.shipment_detail(merchant_id, shipment_id)
    if found is None:
        raise not_found("No such shipment.")
    notes = usecases.notifications(merchant_id, found.detail["shipment_id"], 50)
    return html_response(views.detail_page(base_path(request), merchant_id, found.detail, found.timeline,
                                           found.truncated, notes, usecases.latest_key(merchant_id)))


def attention(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    """GET /attention?hours=N."""
    validation.allow_only(params, {"hours"})
    found = usecases.attention(merchant_id, validation.hours(params, "hours", 24), 100)
    return html_response(views.attention_page(base_path(request), merchant_id, found.flagged, found.stale,
                                              found.hours, usecases.latest_key(merchant_id)))


def warehouses(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    """GET /warehouses."""
    validation.allow_only(params, {"cursor"})
    found = usecases.warehouses(merchant_id, 20, params.get("cursor"))
    return html_response(views.warehouses_page(base_path(request), merchant_id, found.rows, found.next_cursor))


def dead_letters(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    """GET /dead-letters."""
    validation.allow_only(params, {"cursor"})
    found = usecases.dead_letters(merchant_id, 50, params.get("cursor"))
    return html_response(views.dead_letters_page(base_path(request), merchant_id, found.rows, found.next_cursor))


def tracking(request: Request, token: str) -> Response:
    """Public: the token is the only key. Unknown or malformed tokens are a plain 404."""
    base = base_path(request)
    info = usecases.tracking(token)
    if info is None:
        return html_response(views.error_page(base, 404, "No shipment with this tracking link."), 404)
    return html_response(views.tracking_page(base, info))
