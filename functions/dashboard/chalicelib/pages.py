"""HTML page handlers: check the query string, run the use case (``usecases``, shared with the JSON
API), render with ``views``."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from chalice.app import Request, Response

from chalicelib import auth, forecast, lanes_views, usecases, validation, views
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


MAX_NEXT_CHARS = 2048
_DECODE_ROUNDS = 4


def _same_site_path(path: str) -> bool:
    """A path on this host as browsers resolve it: one leading '/', never '//' or '/\\' (a host to
    them), no backslash anywhere, no scheme, no control or format character (browsers drop tabs and
    newlines from URLs, so '/<tab>/evil' would become '//evil')."""
    if not path.startswith("/") or path.startswith(("//", "/\\")) or "\\" in path:
        return False
    if any(unicodedata.category(c).startswith("C") for c in path):
        return False
    try:
        parts = urlsplit(path)
    except ValueError:
        return False
    return not parts.scheme and not parts.netloc


def safe_next(value: str | None) -> str:
    """Where to go after login: ``value`` when it is a same-site path, and stays one however many times
    it is percent-decoded; otherwise '/'. Non-ASCII characters are percent-encoded (Location is ASCII)."""
    if not value or len(value) > MAX_NEXT_CHARS:
        return "/"
    value = "".join(c if c.isascii() else quote(c, safe="", errors="replace") for c in value)
    candidate = value
    for _ in range(_DECODE_ROUNDS):
        if not _same_site_path(candidate):
            return "/"
        decoded = unquote(candidate)
        if decoded == candidate:
            return value
        candidate = decoded
    return "/"  # still changing after several decodings: nobody needs that


def login_form(request: Request, params: dict[str, str]) -> Response:
    """GET /login."""
    return html_response(views.login_page(base_path(request), next_path=safe_next(params.get("next"))))


def login(request: Request) -> Response:
    """POST /login: a valid API key gets the session cookie and a redirect to ``next``."""
    base = base_path(request)
    raw = request.raw_body
    form = parse_qs(raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw)
    key = (form.get("api_key") or [""])[0].strip()
    next_path = safe_next((form.get("next") or ["/"])[0])
    session = usecases.sign_in(key, auth.client_address(request))
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
    risk = forecast.at_risk(merchant_id)
    base = base_path(request)
    return html_response(views.overview_page(base, merchant_id, found.kpis, found.recent, found.attention, found.since,
                                             lanes_views.at_risk_tile(base, len(risk.rows), risk.open_shipments)))


def lanes(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    """GET /lanes: the lane table with per-day sparklines, on-time rate by carrier and by destination."""
    validation.allow_only(params, set())
    stats = forecast.aggregates(merchant_id)
    return html_response(lanes_views.lanes_page(base_path(request), merchant_id, forecast.of_kind(stats, "L#"),
                                                forecast.of_kind(stats, "C#"), forecast.of_kind(stats, "D#")))


def at_risk(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    """GET /at-risk: open shipments trending late (predicted date past the promised one)."""
    validation.allow_only(params, set())
    risk = forecast.at_risk(merchant_id)
    return html_response(lanes_views.at_risk_page(base_path(request), merchant_id, risk.rows, risk.open_shipments,
                                                  risk.sample))


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
    made = found.prediction
    return html_response(views.detail_page(base_path(request), merchant_id, found.detail, found.timeline,
                                           found.truncated, notes, usecases.latest_key(merchant_id),
                                           lanes_views.prediction_facts(made, found.original),
                                           bool(made and made.trending_late)))


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
    predicted = info.get("predicted")
    expected = lanes_views.customer_window(predicted["earliest"], predicted["latest"]) if predicted else None
    return html_response(views.tracking_page(base, info, expected))
