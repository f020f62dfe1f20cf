"""JSON API handlers (/api/v1/...): check the query string, run the use case, answer in JSON.

Each takes the authenticated merchant id; the work is in ``usecases`` (shared with the pages).
"""

from __future__ import annotations

from urllib.parse import urlencode

from chalice.app import Response

from chalicelib import csv_export, kpis, usecases, validation
from chalicelib.auth import Identity
from chalicelib.http import json_response, not_found
from chalicelib.validation import ListRequest


def _listed(found: usecases.Listed) -> Response:
    return json_response({"items": found.rows, "next_cursor": found.next_cursor})


def me(who: Identity) -> Response:
    """GET /api/v1/me: who the credentials belong to."""
    return json_response({"merchant_id": who.merchant_id, "auth": who.method})


def list_shipments(merchant_id: str, params: dict[str, str]) -> Response:
    """GET /api/v1/shipments: one page of the filtered list."""
    request = ListRequest.parse(params)
    found = usecases.list_shipments(merchant_id, request.filter, request.limit, request.cursor)
    return json_response({
        "items": found.rows,
        "count": len(found.rows),
        "next_cursor": found.next_cursor,
        "query": {"index": found.index, "filters": found.filters, "items_read": found.items_read,
                  "read_budget_exhausted": found.budget_exhausted},
    })


def shipments_csv(merchant_id: str, params: dict[str, str], base: str) -> Response:
    """One CSV page; a ``Link: rel="next"`` header points at the next while there is one."""
    request = ListRequest.parse(params, validation.CSV_MAX_ROWS, validation.CSV_MAX_ROWS)
    found = usecases.list_shipments(merchant_id, request.filter, request.limit, request.cursor)
    headers: dict[str, str | list[str]] = {"Content-Type": "text/csv; charset=utf-8",
                                           "Content-Disposition": 'attachment; filename="shipments.csv"',
                                           "X-Row-Count": str(len(found.rows))}
    if found.next_cursor:
        following = {k: v for k, v in params.items() if k != "cursor"}
        following["cursor"] = found.next_cursor
        headers["Link"] = f'<{base}/api/v1/shipments.csv?{urlencode(following)}>; rel="next"'
        headers["X-Next-Cursor"] = found.next_cursor
    return Response(csv_export.render(found.rows), status_code=200, headers=headers)


def search(merchant_id: str, params: dict[str, str]) -> Response:
    """GET /api/v1/search?q=: by shipment id, tracking number or order reference."""
    validation.allow_only(params, {"q"})
    rows = usecases.search(merchant_id, validation.search_term(params))
    return json_response({"items": rows, "count": len(rows)})


def shipment_detail(merchant_id: str, shipment_id: str) -> Response:
    """GET /api/v1/shipments/{id}: state, the whole timeline and the predicted delivery (as ``/prediction``:
    the current prediction and the original one)."""
    found = usecases.shipment_detail(merchant_id, shipment_id)
    if found is None:
        raise not_found("no such shipment")
    return json_response({"shipment": found.detail, "timeline": found.timeline,
                          "timeline_truncated": found.truncated,
                          "prediction": found.prediction.to_dict() if found.prediction else None,
                          "original": found.original})


def shipment_timeline(merchant_id: str, shipment_id: str) -> Response:
    """GET /api/v1/shipments/{id}/timeline."""
    found = usecases.shipment_timeline(merchant_id, shipment_id)
    if found is None:
        raise not_found("no such shipment")
    timeline, truncated = found
    return json_response({"items": timeline, "truncated": truncated})


def shipment_notifications(merchant_id: str, shipment_id: str, params: dict[str, str]) -> Response:
    """GET /api/v1/shipments/{id}/notifications: the notification log."""
    validation.allow_only(params, {"limit"})
    item = usecases.find_shipment(merchant_id, shipment_id)
    if item is None:
        raise not_found("no such shipment")
    # limit is checked after the lookup: an unknown shipment is a 404 whatever the limit.
    rows = usecases.notifications(merchant_id, item["shipment_id"], validation.limit(params, 100))
    return json_response({"items": rows})


def attention(merchant_id: str, params: dict[str, str]) -> Response:
    """GET /api/v1/attention?hours=N: flagged shipments and those with no movement for N hours."""
    validation.allow_only(params, {"limit", "hours"})
    limit = validation.limit(params, 50)
    found = usecases.attention(merchant_id, validation.hours(params, "hours", 24), limit)
    return json_response({
        "needs_attention": found.flagged,
        "no_movement": {"hours": found.hours, "before": found.cutoff, "items": found.stale},
    })


def kpi_report(merchant_id: str, params: dict[str, str]) -> Response:
    """GET /api/v1/kpis?sample=N."""
    validation.allow_only(params, {"sample"})
    return json_response(usecases.kpi_report(merchant_id, validation.sample(params, kpis.DEFAULT_SAMPLE)))


def changes(merchant_id: str, params: dict[str, str]) -> Response:
    """Cheap polling for live pages: shipments stored after ``since`` (by_ingested, small Limit)."""
    validation.allow_only(params, {"since", "limit"})
    limit = validation.limit(params, 50)
    since = validation.updated_key(params["since"]) if "since" in params else None
    return json_response(usecases.changes(merchant_id, since, limit))


def list_warehouses(merchant_id: str, params: dict[str, str]) -> Response:
    """GET /api/v1/warehouses."""
    validation.allow_only(params, {"limit", "cursor"})
    return _listed(usecases.warehouses(merchant_id, validation.limit(params, 50), params.get("cursor")))


def warehouse_detail(merchant_id: str, warehouse_id: str, params: dict[str, str]) -> Response:
    """GET /api/v1/warehouses/{id}?stock_cursor=: the warehouse with a page of its stock, and shipments there."""
    validation.allow_only(params, {"stock_cursor"})
    found = usecases.warehouse_detail(merchant_id, warehouse_id, params.get("stock_cursor"))
    if found is None:
        raise not_found("no such warehouse")
    return json_response({"warehouse": found.warehouse, "stock_next_cursor": found.stock_next_cursor,
                          "shipments": found.shipments, "shipments_next_cursor": found.shipments_next_cursor})


def list_dead_letters(merchant_id: str, params: dict[str, str]) -> Response:
    """GET /api/v1/dead-letters, newest first."""
    validation.allow_only(params, {"limit", "cursor"})
    return _listed(usecases.dead_letters(merchant_id, validation.limit(params, 50), params.get("cursor")))


def dead_letter_detail(merchant_id: str, dlq_key: str) -> Response:
    """GET /api/v1/dead-letters/{dlq_key}."""
    found = usecases.dead_letter(merchant_id, dlq_key)
    if found is None:
        raise not_found("no such dead letter")
    return json_response({"dead_letter": found})


def replay_dead_letter(merchant_id: str, dlq_key: str) -> Response:
    """POST /api/v1/dead-letters/{dlq_key}/replay."""
    return json_response(usecases.replay_dead_letter(merchant_id, dlq_key))
