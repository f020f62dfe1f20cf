"""HTML page handlers: the same reads as the API, rendered by ``views``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

from chalice.app import Request, Response

from chalicelib import api, auth, deps, kpis, present, validation, views
from chalicelib.http import ApiError, base_path, html_response, not_found, redirect

STATIC_DIR = Path(__file__).parent / "static"
STATIC_TYPES = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
_static_cache: dict[str, str] = {}


def static(name: str) -> Response:
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
    return html_response(views.login_page(base_path(request), next_path=_safe_next(params.get("next"))))


def login(request: Request) -> Response:
    base = base_path(request)
    raw = request.raw_body
    form = parse_qs(raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw)
    key = (form.get("api_key") or [""])[0].strip()
    next_path = _safe_next((form.get("next") or ["/"])[0])
    if deps.settings().auth_mode != "api_key":
        raise ApiError(404, "not_found", "API-key login is off (AUTH_MODE=jwt)")
    merchant = deps.merchants().merchant_for_key(key) if key and len(key) <= 256 else None
    if merchant is None:
        return html_response(views.login_page(base, "That API key is not valid.", next_path), 401)
    session = auth.make_session(deps.settings().session_secret, merchant, auth.hash_key(key))
    return redirect(f"{base}{next_path}", {"Set-Cookie": auth.session_cookie(session, auth.is_https(request))})


def logout(request: Request) -> Response:
    return redirect(f"{base_path(request)}/login", {"Set-Cookie": auth.clear_cookie(auth.is_https(request))})


def overview(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    validation.allow_only(params, set())
    reader = deps.reader()
    report = kpis.compute(reader, merchant_id, deps.clock()())
    recent = [present.summary(i) for i in reader.latest(merchant_id, 12)]
    attention = [present.summary(i) for i in reader.attention(merchant_id, 8)]
    since = api.latest_key(merchant_id)
    return html_response(views.overview_page(base_path(request), merchant_id, report, recent, attention, since))


def shipments(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    base = base_path(request)
    since = api.latest_key(merchant_id)
    if "q" in params:
        validation.allow_only(params, {"q"})
        found = deps.reader().search(merchant_id, validation.search_term(params))
        rows = [present.summary(i) for i in found]
        return html_response(views.shipments_page(base, merchant_id, params, rows, None, params["q"], since, None))
    query, page, next_cursor = api.shipments_page(merchant_id, params)
    note = f"Newest first · index {query.index}"
    if page.budget_exhausted:
        note += " · this page stopped after its read budget; the next page continues"
    rows = [present.summary(i) for i in page.items]
    return html_response(views.shipments_page(base, merchant_id, params, rows, next_cursor, None, since, note))


def shipment(request: Request, merchant_id: str, shipment_id: str) -> Response:
    reader = deps.reader()
    item = reader.shipment(merchant_id, validation.identifier(shipment_id, "shipment_id"))
    if item is None:
        raise not_found("No such shipment.")
    timeline, truncated = api.timeline_of(merchant_id, item["shipment_id"])
    notes = [present.notification(n) for n in reader.notifications(merchant_id, item["shipment_id"], 50)]
    detail = present.detail(item, deps.settings().tracking_base_url)
    return html_response(views.detail_page(base_path(request), merchant_id, detail, timeline, truncated, notes,
                                           api.latest_key(merchant_id)))


def attention(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    validation.allow_only(params, {"hours"})
    hours = validation.hours(params, "hours", 24)
    reader = deps.reader()
    flagged = [present.summary(i) for i in reader.attention(merchant_id, 100)]
    stale = [present.summary(i) for i in reader.stale(merchant_id, api.stale_cutoff(hours), 100)]
    return html_response(views.attention_page(base_path(request), merchant_id, flagged, stale, hours,
                                              api.latest_key(merchant_id)))


def warehouses(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    validation.allow_only(params, {"cursor"})
    keys = frozenset({"merchant_id", "warehouse_id"})
    page = deps.reader().warehouses(merchant_id, 20, api.start_key(merchant_id, "warehouses", params, keys))
    return html_response(views.warehouses_page(base_path(request), merchant_id,
                                               [present.warehouse(w) for w in page.items],
                                               api.next_cursor_of(merchant_id, "warehouses", page)))


def dead_letters(request: Request, merchant_id: str, params: dict[str, str]) -> Response:
    validation.allow_only(params, {"cursor"})
    keys = frozenset({"merchant_id", "dlq_key"})
    page = deps.reader().dead_letters(merchant_id, 50, api.start_key(merchant_id, "dead-letters", params, keys))
    return html_response(views.dead_letters_page(base_path(request), merchant_id,
                                                 [present.dead_letter(d) for d in page.items],
                                                 api.next_cursor_of(merchant_id, "dead-letters", page)))


def tracking(request: Request, token: str) -> Response:
    """Public: the token is the only key. Unknown or malformed tokens are a plain 404."""
    base = base_path(request)
    valid = validation.tracking_token(token)
    item = deps.reader().by_token(valid) if valid else None
    if item is None:
        return html_response(views.error_page(base, 404, "No shipment with this tracking link."), 404)
    timeline, _ = deps.reader().timeline(f"{item['merchant_id']}#S#{item['shipment_id']}")
    return html_response(views.tracking_page(base, present.public_tracking(item, timeline)))



