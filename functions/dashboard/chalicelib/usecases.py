"""What the dashboard does, once for both front doors: the JSON handlers (``api``) and the pages
(``pages``) call these and never each other.

Each use case takes the authenticated merchant and already validated inputs (the two front doors
accept different query parameters, so parsing them stays with the handlers), reads through
``queries`` and returns the presented shapes of ``present``. Every id is looked up under the
merchant, so another merchant's id reads as absent (None), which each handler words as its 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib import auth, deps, forecast, kpis, paging, present, replay, validation
from chalicelib.http import ApiError
from chalicelib.queries import shipment_query
from chalicelib.validation import ShipmentFilter
from logistics.adapters.index_keys import INGESTED_KEY
from logistics.domain.prediction import Prediction

EPOCH_KEY = "1970-01-01T00:00:00.000Z"


def _secret() -> bytes:
    return deps.settings().session_secret


def _now_key() -> str:
    return kpis.utc_key(deps.clock()())


@dataclass(frozen=True)
class Listed:
    """A page of presented rows and the cursor to the next one (None: this was the last)."""

    rows: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class ShipmentList(Listed):
    """A page of the shipments list and how it was read."""

    index: str
    filters: dict[str, Any]
    items_read: int
    budget_exhausted: bool


@dataclass(frozen=True)
class ShipmentDetail:
    """A shipment as the detail view shows it, with its timeline."""

    detail: dict[str, Any]
    timeline: list[dict[str, Any]]
    truncated: bool  # the timeline stopped at queries.TIMELINE_MAX entries
    prediction: Prediction | None = None  # current predicted delivery (forecast), None when not under way
    original: dict[str, Any] | None = None  # the first prediction made for it (Prediction.to_dict), if any


@dataclass(frozen=True)
class Attention:
    """The attention queue."""

    flagged: list[dict[str, Any]]  # in the by_attention index: exceptions, failed attempts, lost
    stale: list[dict[str, Any]]  # still moving, but not updated since ``cutoff``
    hours: int
    cutoff: str


@dataclass(frozen=True)
class Overview:
    """What the overview page shows."""

    kpis: dict[str, Any]
    recent: list[dict[str, Any]]
    attention: list[dict[str, Any]]
    since: str  # where the page's change feed starts


@dataclass(frozen=True)
class WarehouseDetail:
    """A warehouse with a page of its stock, and the first page of the shipments there."""

    warehouse: dict[str, Any]
    shipments: list[dict[str, Any]]
    shipments_next_cursor: str | None
    stock_next_cursor: str | None


# -- shipments -------------------------------------------------------------------------------------
def list_shipments(merchant_id: str, flt: ShipmentFilter, limit: int, cursor: str | None) -> ShipmentList:
    """One page of the filtered shipments list, newest update first (the most selective index)."""
    query = shipment_query(deps.settings(), merchant_id, flt)
    page, next_cursor = paging.read_page(_secret(), merchant_id, query.scope, cursor,
                                         lambda start: deps.reader().shipments(query, limit, start))
    return ShipmentList([present.summary(i) for i in page.items], next_cursor, query.index, flt.as_dict(),
                        page.read, page.budget_exhausted)


def search(merchant_id: str, term: str) -> list[dict[str, Any]]:
    """Shipments whose id, tracking number or order reference is ``term``."""
    return [present.summary(i) for i in deps.reader().search(merchant_id, term)]


def find_shipment(merchant_id: str, shipment_id: str) -> dict[str, Any] | None:
    """The stored shipment (400 for a malformed id), or None when the merchant has no such shipment."""
    return deps.reader().shipment(merchant_id, validation.identifier(shipment_id, "shipment_id"))


def _timeline_items(merchant_id: str, shipment_id: str) -> tuple[list[dict[str, Any]], bool]:
    # TimelineTable's partition key of a shipment (written by the ingest service).
    return deps.reader().timeline(f"{merchant_id}#S#{shipment_id}", merchant_id)


def _timeline(merchant_id: str, shipment_id: str) -> tuple[list[dict[str, Any]], bool]:
    items, truncated = _timeline_items(merchant_id, shipment_id)
    return [present.timeline_entry(i) for i in items], truncated


def shipment_detail(merchant_id: str, shipment_id: str) -> ShipmentDetail | None:
    """A shipment with its whole timeline, or None when the merchant has no such shipment."""
    item = find_shipment(merchant_id, shipment_id)
    if item is None:
        return None
    timeline, truncated = _timeline(merchant_id, item["shipment_id"])
    return ShipmentDetail(present.detail(item, deps.settings().tracking_base_url), timeline, truncated,
                          forecast.prediction_of(item), forecast.original_of(merchant_id, item["shipment_id"]))


def shipment_timeline(merchant_id: str, shipment_id: str) -> tuple[list[dict[str, Any]], bool] | None:
    """(timeline, truncated) of a shipment, or None when the merchant has no such shipment."""
    item = find_shipment(merchant_id, shipment_id)
    return None if item is None else _timeline(merchant_id, item["shipment_id"])


def notifications(merchant_id: str, shipment_id: str, limit: int) -> list[dict[str, Any]]:
    """The notification log of a shipment found with ``find_shipment``, newest first."""
    return [present.notification(n) for n in deps.reader().notifications(merchant_id, shipment_id, limit)]


def tracking(token: str) -> dict[str, Any] | None:
    """Public: what a customer may see of the shipment behind a tracking token; None for an unknown
    or malformed token (the caller cannot tell which)."""
    valid = validation.tracking_token(token)
    item = deps.reader().by_token(valid) if valid else None
    if item is None:
        return None
    timeline, _ = _timeline_items(item["merchant_id"], item["shipment_id"])
    info = present.public_tracking(item, timeline)
    made = forecast.prediction_of(item)
    # Customer-safe: the window's dates only (no basis, sample size or lateness).
    info["predicted"] = {"earliest": made.earliest, "latest": made.latest} if made else None
    return info


# -- attention, KPIs, live updates -----------------------------------------------------------------
def stale_cutoff(hours: int) -> str:
    """The updated_key before which a moving shipment counts as having no movement for ``hours``."""
    return kpis.utc_key(deps.clock()() - timedelta(hours=hours))


def attention(merchant_id: str, hours: int, limit: int) -> Attention:
    """Shipments flagged for attention, and moving ones with no update for ``hours``."""
    reader = deps.reader()
    cutoff = stale_cutoff(hours)
    flagged = [present.summary(i) for i in reader.attention(merchant_id, limit)]
    stale = [present.summary(i) for i in reader.stale(merchant_id, cutoff, limit)]
    return Attention(flagged, stale, hours, cutoff)


def kpi_report(merchant_id: str, sample: int = kpis.DEFAULT_SAMPLE) -> dict[str, Any]:
    """Status counts and the rates over the ``sample`` most recently updated shipments."""
    return kpis.compute(deps.reader(), merchant_id, deps.clock()(), sample)


def overview(merchant_id: str) -> Overview:
    """The overview page: KPIs, the latest updates and the head of the attention queue."""
    reader = deps.reader()
    report = kpi_report(merchant_id)
    recent = [present.summary(i) for i in reader.latest(merchant_id, 12)]
    flagged = [present.summary(i) for i in reader.attention(merchant_id, 8)]
    return Overview(report, recent, flagged, latest_key(merchant_id))


def latest_key(merchant_id: str) -> str:
    """The newest ingested_key of the merchant: where a live page's change feed starts."""
    return deps.reader().last_stored(merchant_id) or EPOCH_KEY


def changes(merchant_id: str, since: str | None, limit: int) -> dict[str, Any]:
    """Shipments stored after ``since`` (an ingested_key), oldest first; without ``since`` only the
    current position, so a poller can start there."""
    now = _now_key()
    if since is None:
        return {"items": [], "next_since": latest_key(merchant_id), "has_more": False, "server_time": now}
    items, more = deps.reader().changes(merchant_id, since, limit)
    return {"items": [present.summary(i) for i in items],
            "next_since": items[-1][INGESTED_KEY] if items else since,
            "has_more": more, "server_time": now}


# -- warehouses and dead letters -------------------------------------------------------------------
def warehouses(merchant_id: str, limit: int, cursor: str | None) -> Listed:
    """One page of the merchant's warehouses."""
    page, next_cursor = paging.read_page(_secret(), merchant_id, paging.WAREHOUSES, cursor,
                                         lambda start: deps.reader().warehouses(merchant_id, limit, start))
    return Listed([present.warehouse(w) for w in page.items], next_cursor)


def warehouse_detail(merchant_id: str, warehouse_id: str, stock_cursor: str | None = None) -> WarehouseDetail | None:
    """A warehouse with the page of its stock ``stock_cursor`` points to (the first without), and the first
    page of the shipments there; None when there is no such warehouse."""
    warehouse_id = validation.identifier(warehouse_id, "warehouse_id")
    scope = paging.warehouse_stock(warehouse_id)
    start = paging.start_key(_secret(), merchant_id, scope, stock_cursor)
    summary, view, next_key = deps.reader().warehouse(merchant_id, warehouse_id, start)
    if summary is None:
        return None
    here = list_shipments(merchant_id, ShipmentFilter(warehouse=summary["warehouse_id"]), 50, None)
    stock_next = paging.encode_cursor(_secret(), merchant_id, scope, next_key) if next_key else None
    return WarehouseDetail(present.warehouse(view), here.rows, here.next_cursor, stock_next)


def dead_letters(merchant_id: str, limit: int, cursor: str | None) -> Listed:
    """One page of the merchant's dead letters, newest first."""
    page, next_cursor = paging.read_page(_secret(), merchant_id, paging.DEAD_LETTERS, cursor,
                                         lambda start: deps.reader().dead_letters(merchant_id, limit, start))
    return Listed([present.dead_letter(d) for d in page.items], next_cursor)


def dead_letter(merchant_id: str, dlq_key: str) -> dict[str, Any] | None:
    """One dead letter (400 for a malformed key), or None."""
    item = deps.reader().dead_letter(merchant_id, validation.dlq_key(dlq_key))
    return None if item is None else present.dead_letter(item)


def replay_dead_letter(merchant_id: str, dlq_key: str) -> dict[str, Any]:
    """Re-produce a dead letter to its topic (409 when already replayed or in progress, 502 when refused)."""
    return replay.replay(deps.reader(), merchant_id, validation.dlq_key(dlq_key), deps.publisher(), deps.clock()())


# -- sign-in ---------------------------------------------------------------------------------------
def sign_in(api_key: str, address: str) -> str | None:
    """A signed session for a valid API key, or None. 404 when API-key login is off (AUTH_MODE=jwt);
    429 while ``address`` is throttled for failed attempts (``throttle``)."""
    settings = deps.settings()
    if settings.auth_mode != "api_key":
        raise ApiError(404, "not_found", "API-key login is off (AUTH_MODE=jwt)")
    merchant = auth.check_key(api_key, address, deps.merchants(), deps.throttle())
    if merchant is None:
        return None
    return auth.make_session(settings.session_secret, merchant, auth.hash_key(api_key))
