"""JSON API handlers (/api/v1/...): validate, read through ``queries``, present. Each takes the
authenticated merchant id; every id is looked up under that merchant, so others' ids are 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from chalice.app import Response

from chalicelib import csv_export, cursor, deps, kpis, present, replay, validation
from chalicelib.http import bad_request, json_response, not_found
from chalicelib.queries import Page, ShipmentQuery, shipment_query
from chalicelib.validation import ShipmentFilter

EPOCH_KEY = "1970-01-01T00:00:00.000Z"
LIST_PARAMS = {*ShipmentFilter.FIELDS, "limit", "cursor"}


def start_key(merchant_id: str, scope: str, params: dict[str, str], key_attrs: frozenset[str]) -> dict[str, Any] | None:
    raw = params.get("cursor")
    if raw is None:
        return None
    key = cursor.decode(deps.settings().session_secret, merchant_id, scope, raw, key_attrs)
    owner = key.get("merchant_id", {}).get("S")
    if owner is not None and owner != merchant_id:
        raise bad_request("cursor belongs to another merchant", "cursor")
    return key


def next_cursor_of(merchant_id: str, scope: str, page: Page) -> str | None:
    return cursor.encode(deps.settings().session_secret, merchant_id, scope, page.next_key) if page.next_key else None


def shipments_page(merchant_id: str, params: dict[str, str], max_limit: int = validation.MAX_LIMIT,
                   default_limit: int = 50) -> tuple[ShipmentQuery, Page, str | None]:
    validation.allow_only(params, LIST_PARAMS)
    flt = ShipmentFilter.parse(params)
    limit = validation.limit(params, default_limit, max_limit)
    query = shipment_query(deps.settings(), merchant_id, flt)
    page = deps.reader().shipments(query, limit, start_key(merchant_id, query.scope, params, query.key_attrs))
    return query, page, next_cursor_of(merchant_id, query.scope, page)


def list_shipments(merchant_id: str, params: dict[str, str]) -> Response:
    query, page, next_cursor = shipments_page(merchant_id, params)
    return json_response({
        "items": [present.summary(i) for i in page.items],
        "count": len(page.items),
        "next_cursor": next_cursor,
        "query": {"index": query.index, "filters": ShipmentFilter.parse(params).as_dict(), "items_read": page.read,
                  "read_budget_exhausted": page.budget_exhausted},
    })


def shipments_csv(merchant_id: str, params: dict[str, str], base: str) -> Response:
    _, page, next_cursor = shipments_page(merchant_id, params, validation.CSV_MAX_ROWS, validation.CSV_MAX_ROWS)
    headers = {"Content-Type": "text/csv; charset=utf-8",
               "Content-Disposition": 'attachment; filename="shipments.csv"',
               "X-Row-Count": str(len(page.items))}
    if next_cursor:
        following = {k: v for k, v in params.items() if k != "cursor"}
        following["cursor"] = next_cursor
        headers["Link"] = f'<{base}/api/v1/shipments.csv?{urlencode(following)}>; rel="next"'
        headers["X-Next-Cursor"] = next_cursor
    return Response(csv_export.render([present.summary(i) for i in page.items]), status_code=200, headers=headers)


def search(merchant_id: str, params: dict[str, str]) -> Response:
    validation.allow_only(params, {"q"})
    items = deps.reader().search(merchant_id, validation.search_term(params))
    return json_response({"items": [present.summary(i) for i in items], "count": len(items)})


def _shipment(merchant_id: str, shipment_id: str) -> dict[str, Any]:
    item = deps.reader().shipment(merchant_id, validation.identifier(shipment_id, "shipment_id"))
    if item is None:
        raise not_found("no such shipment")
    return item


def timeline_of(merchant_id: str, shipment_id: str) -> tuple[list[dict[str, Any]], bool]:
    items, truncated = deps.reader().timeline(f"{merchant_id}#S#{shipment_id}")
    return [present.timeline_entry(i) for i in items], truncated


def shipment_detail(merchant_id: str, shipment_id: str) -> Response:
    item = _shipment(merchant_id, shipment_id)
    timeline, truncated = timeline_of(merchant_id, item["shipment_id"])
    return json_response({"shipment": present.detail(item, deps.settings().tracking_base_url),
                          "timeline": timeline, "timeline_truncated": truncated})


def shipment_timeline(merchant_id: str, shipment_id: str) -> Response:
    item = _shipment(merchant_id, shipment_id)
    timeline, truncated = timeline_of(merchant_id, item["shipment_id"])
    return json_response({"items": timeline, "truncated": truncated})


def shipment_notifications(merchant_id: str, shipment_id: str, params: dict[str, str]) -> Response:
    validation.allow_only(params, {"limit"})
    item = _shipment(merchant_id, shipment_id)
    items = deps.reader().notifications(merchant_id, item["shipment_id"], validation.limit(params, 100))
    return json_response({"items": [present.notification(n) for n in items]})


def attention(merchant_id: str, params: dict[str, str]) -> Response:
    validation.allow_only(params, {"limit", "hours"})
    limit = validation.limit(params, 50)
    hours = validation.hours(params, "hours", 24)
    reader = deps.reader()
    cutoff = stale_cutoff(hours)
    return json_response({
        "needs_attention": [present.summary(i) for i in reader.attention(merchant_id, limit)],
        "no_movement": {"hours": hours, "before": cutoff,
                        "items": [present.summary(i) for i in reader.stale(merchant_id, cutoff, limit)]},
    })


def stale_cutoff(hours: int) -> str:
    return kpis.utc_key(deps.clock()() - timedelta(hours=hours))


def kpi_report(merchant_id: str, params: dict[str, str]) -> Response:
    validation.allow_only(params, {"sample"})
    raw = params.get("sample")
    if raw is not None and (not raw.isdigit() or not 1 <= int(raw) <= 1000):
        raise bad_request("sample must be an integer from 1 to 1000", "sample")
    return json_response(kpis.compute(deps.reader(), merchant_id, deps.clock()(),
                                      int(raw) if raw else kpis.DEFAULT_SAMPLE))


def latest_key(merchant_id: str) -> str:
    return deps.reader().last_stored(merchant_id) or EPOCH_KEY


def changes(merchant_id: str, params: dict[str, str]) -> Response:
    """Cheap polling for live pages: shipments stored after ``since`` (by_ingested, small Limit)."""
    validation.allow_only(params, {"since", "limit"})
    limit = validation.limit(params, 50)
    now = kpis.utc_key(deps.clock()())
    if "since" not in params:
        return json_response({"items": [], "next_since": latest_key(merchant_id), "has_more": False,
                              "server_time": now})
    since = validation.updated_key(params["since"])
    items, more = deps.reader().changes(merchant_id, since, limit)
    return json_response({"items": [present.summary(i) for i in items],
                          "next_since": items[-1]["ingested_key"] if items else since,
                          "has_more": more, "server_time": now})


def list_warehouses(merchant_id: str, params: dict[str, str]) -> Response:
    validation.allow_only(params, {"limit", "cursor"})
    keys = frozenset({"merchant_id", "warehouse_id"})
    page = deps.reader().warehouses(merchant_id, validation.limit(params, 50),
                                    start_key(merchant_id, "warehouses", params, keys))
    return json_response({"items": [present.warehouse(w) for w in page.items],
                          "next_cursor": next_cursor_of(merchant_id, "warehouses", page)})


def warehouse_detail(merchant_id: str, warehouse_id: str) -> Response:
    item = deps.reader().warehouse(merchant_id, validation.identifier(warehouse_id, "warehouse_id"))
    if item is None:
        raise not_found("no such warehouse")
    query = shipment_query(deps.settings(), merchant_id, ShipmentFilter(warehouse=item["warehouse_id"]))
    page = deps.reader().shipments(query, 50, None)
    return json_response({"warehouse": present.warehouse(item),
                          "shipments": [present.summary(i) for i in page.items],
                          "shipments_next_cursor": next_cursor_of(merchant_id, query.scope, page)})


def list_dead_letters(merchant_id: str, params: dict[str, str]) -> Response:
    validation.allow_only(params, {"limit", "cursor"})
    keys = frozenset({"merchant_id", "dlq_key"})
    page = deps.reader().dead_letters(merchant_id, validation.limit(params, 50),
                                      start_key(merchant_id, "dead-letters", params, keys))
    return json_response({"items": [present.dead_letter(d) for d in page.items],
                          "next_cursor": next_cursor_of(merchant_id, "dead-letters", page)})


def dead_letter_detail(merchant_id: str, dlq_key: str) -> Response:
    item = deps.reader().dead_letter(merchant_id, validation.dlq_key(dlq_key))
    if item is None:
        raise not_found("no such dead letter")
    return json_response({"dead_letter": present.dead_letter(item)})


def replay_dead_letter(merchant_id: str, dlq_key: str) -> Response:
    result = replay.replay(deps.reader(), merchant_id, validation.dlq_key(dlq_key), deps.publisher(),
                           deps.clock()())
    return json_response(result)
