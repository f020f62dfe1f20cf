"""Storage items -> the shapes the API returns and the pages render (internal fields left out)."""

from __future__ import annotations

import base64
import json
from typing import Any

from logistics.adapters.warehouse_items import state_from_item

PREVIEW_BYTES = 2048
# Customer-facing: what happened and roughly where; no facility, actor, zone, ids or sources.
PUBLIC_DISPOSITIONS = frozenset({"applied", "correction"})


def _place(location: dict[str, Any] | None) -> dict[str, Any] | None:
    if not location:
        return None
    keys = ("city", "region", "country", "lat", "lon", "facility_id")
    return {k: location[k] for k in keys if location.get(k) is not None}


def summary(item: dict[str, Any]) -> dict[str, Any]:
    location = item.get("location") or {}
    return {
        "shipment_id": item["shipment_id"],
        "status": item.get("status"),
        "sub_status": item.get("sub_status"),
        "carrier": item.get("carrier"),
        "tracking_number": item.get("tracking_number"),
        "order_ref": item.get("order_ref"),
        "geo": item.get("geo"),
        "country": location.get("country"),
        "city": location.get("city"),
        "warehouse_id": item.get("warehouse_id"),
        "eta": item.get("eta"),
        "updated_at": item.get("updated_at"),
        "updated_key": item.get("updated_key"),
        "needs_attention": bool(item.get("needs_attention")),
        "attention_reason": item.get("attention_reason"),
        "event_count": item.get("event_count", 0),
        "late_count": item.get("late_count", 0),
    }


def detail(item: dict[str, Any], tracking_base_url: str) -> dict[str, Any]:
    token = item.get("tracking_token")
    return {
        **summary(item),
        "status_changed_at": item.get("status_changed_at"),
        "location": _place(item.get("location")),
        "origin": _place(item.get("origin")),
        "milestones": item.get("milestones") or {},
        "exception": item.get("exception"),
        "customer": item.get("customer"),
        "corrections": item.get("corrections", 0),
        "tracking_url": f"{tracking_base_url}/{token}" if token else None,
    }


def timeline_entry(item: dict[str, Any]) -> dict[str, Any]:
    entry = {
        "at": item.get("occurred_utc") or item.get("at", "").split("#")[0],
        "occurred_at": item.get("occurred_at"),
        "event_id": item.get("event_id"),
        "kind": "warehouse" if item.get("kind") == "W" or str(item.get("event_type", "")).startswith("warehouse_")
        else "carrier",
        "event_type": item.get("event_type"),
        "status": item.get("status"),
        "sub_status": item.get("sub_status"),
        "location": _place(item.get("location")),
        "disposition": item.get("disposition"),
        "late": item.get("disposition") == "late",
        "correction_of": item.get("correction_of"),
        "exception": item.get("exception"),
        "warehouse_id": item.get("warehouse_id"),
        "zone": item.get("zone"),
        "source": item.get("source"),
    }
    return {k: v for k, v in entry.items() if v is not None}


def public_timeline(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The customer-safe timeline: events that count, newest first, with time, status and city."""
    rows = []
    for item in items:
        if item.get("disposition") not in PUBLIC_DISPOSITIONS or not item.get("status"):
            continue
        location = item.get("location") or {}
        rows.append({"at": item.get("occurred_utc") or item.get("at", "").split("#")[0],
                     "status": item["status"], "city": location.get("city"), "country": location.get("country")})
    return list(reversed(rows))


def public_tracking(item: dict[str, Any], timeline: list[dict[str, Any]]) -> dict[str, Any]:
    eta = item.get("eta") or {}
    return {
        "status": item.get("status"),
        "carrier": item.get("carrier"),
        "tracking_number": item.get("tracking_number"),
        "eta": {k: eta.get(k) for k in ("date", "window_start", "window_end") if eta.get(k)},
        "updated_at": item.get("updated_at"),
        "events": public_timeline(timeline),
    }


def notification(item: dict[str, Any]) -> dict[str, Any]:
    keys = ("notification_id", "channel", "status", "old_status", "outcome", "created_at", "detail", "target",
            "error", "due_at", "sent_at", "message_id", "channels", "http_status", "attempts")
    return {k: item[k] for k in keys if item.get(k) is not None}


def warehouse(view: dict[str, Any]) -> dict[str, Any]:
    """A warehouse (a ``warehouse_reads.row``): counters of the whole stock, and the SKUs read with it
    (``stock_complete`` says whether they are all of them)."""
    item, stock = view["summary"], view["stock"]
    counters = state_from_item(item)
    on_hand = item.get("on_hand") or {}
    return {
        "warehouse_id": item["warehouse_id"],
        "location": _place(item.get("location")),
        "updated_at": item.get("updated_at"),
        "skus": counters.skus,
        "units": counters.units,
        "stock": dict(sorted(stock.items())),
        "stock_complete": view["stock_complete"],
        "shipments_on_hand": len(on_hand),
        "on_hand": dict(sorted(on_hand.items())),
        "event_count": item.get("event_count", 0),
    }


def value_preview(value_b64: str | None) -> str | None:
    if value_b64 is None:
        return None
    raw = base64.b64decode(value_b64)
    text = raw[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    return text + ("…" if len(raw) > PREVIEW_BYTES else "")


def _truncated_preview(prefix_b64: str | None) -> str | None:
    """The kept first bytes of an oversized value, marked as cut."""
    preview = value_preview(prefix_b64)
    return None if preview is None else preview.rstrip("…") + "…"


def dead_letter(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "dlq_key": item["dlq_key"],
        "source": item.get("source"),
        "reason": item.get("reason"),
        "event_id": item.get("event_id"),
        "state": item.get("state"),
        "dead_lettered_at": item.get("dead_lettered_at"),
        "replayed_at": item.get("replayed_at"),
        "replay_count": item.get("replay_count", 0),
        "last_replay_error": item.get("last_replay_error"),
        "value_preview": value_preview(item.get("value_b64")) if item.get("value_b64")
        else _truncated_preview(item.get("value_prefix_b64")),
        "value_bytes": len(base64.b64decode(item["value_b64"])) if item.get("value_b64")
        else int(item.get("value_bytes") or 0),
        "value_truncated": bool(item.get("value_truncated")),
        "value_sha256": item.get("value_sha256"),
    }


def script_json(data: Any) -> str:
    """JSON safe to embed in a <script type="application/json"> block (no '</script>' breakout)."""
    return (json.dumps(data, separators=(",", ":"), default=str)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
