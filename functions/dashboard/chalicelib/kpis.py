"""Merchant KPIs from bounded Queries (never a Scan, never an unbounded read).

* status counts: one ``by_status`` Query with Select=COUNT per status, each counting at most COUNT_CAP;
* everything else is computed over a sample: the ``sample`` most recently active shipments
  (``by_ingested``: last stored first); the response says so, with the sample's size and time span.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from chalicelib.queries import Reader
from logistics.domain.events import to_utc
from logistics.domain.geography import geography
from logistics.domain.status import TERMINAL, Status

COUNT_CAP = 5_000  # per status: a COUNT still reads (and bills) every item it counts
DEFAULT_SAMPLE = 500
RATE_WINDOW_MIN = 15
RATE_CAP = 1000
_BUCKETS_MIN = (1, 5, 15, 60, 180, 360, 720, 1440, 10080)
_TERMINAL = {s.value for s in TERMINAL}


def _moment(utc: str) -> datetime:
    return datetime.fromisoformat(utc.replace("Z", "+00:00"))


def utc_key(moment: datetime) -> str:
    return to_utc(moment.isoformat())


def is_late(item: dict[str, Any], today: str) -> bool:
    """Delivered after the ETA date, or not yet delivered (nor finished) with the ETA date passed."""
    eta = (item.get("eta") or {}).get("date")
    if not eta:
        return False
    if item.get("status") == Status.DELIVERED.value:
        delivered = (item.get("milestones") or {}).get(Status.DELIVERED.value) or item.get("status_changed_at") or ""
        return delivered[:10] > eta
    return item.get("status") not in _TERMINAL and today > eta


def transit_hours(item: dict[str, Any]) -> float | None:
    if item.get("status") != Status.DELIVERED.value:
        return None
    milestones = item.get("milestones") or {}
    picked, delivered = milestones.get(Status.PICKED_UP.value), milestones.get(Status.DELIVERED.value)
    if not picked or not delivered:
        return None
    hours = (_moment(delivered) - _moment(picked)).total_seconds() / 3600
    return hours if hours >= 0 else None


def _country(place: dict[str, Any] | None) -> str | None:
    return (place or {}).get("country")


def throughput(updated: list[str]) -> dict[str, Any]:
    """Updates per time bucket across the sample's span, at most ~30 buckets."""
    if not updated:
        return {"bucket_minutes": None, "series": []}
    moments = sorted(_moment(u) for u in updated)
    span_min = max((moments[-1] - moments[0]).total_seconds() / 60, 1)
    size = next((b for b in _BUCKETS_MIN if span_min / b <= 30), _BUCKETS_MIN[-1])
    epoch = datetime(1970, 1, 1, tzinfo=moments[0].tzinfo)

    def bucket(m: datetime) -> datetime:
        minutes = int((m - epoch).total_seconds() // 60)
        return epoch + timedelta(minutes=minutes - minutes % size)

    counts = Counter(bucket(m) for m in moments)
    series, at = [], bucket(moments[0])
    while at <= moments[-1]:
        series.append({"t": utc_key(at), "n": counts.get(at, 0)})
        at += timedelta(minutes=size)
    return {"bucket_minutes": size, "series": series}


def compute(reader: Reader, merchant_id: str, now: datetime, sample: int = DEFAULT_SAMPLE) -> dict[str, Any]:
    counts: dict[str, int] = {}
    capped = False
    for status in Status:
        n, hit_cap = reader.count_status(merchant_id, status.value, COUNT_CAP)
        counts[status.value] = n
        capped = capped or hit_cap
    items = reader.latest(merchant_id, sample)
    today = now.date().isoformat()

    delivered = on_time = 0
    routes: dict[tuple[str, str], list[float]] = defaultdict(list)
    geo_routes: dict[tuple[str, str], list[float]] = defaultdict(list)
    regions: dict[str, Counter] = defaultdict(Counter)
    for item in items:
        geo = item.get("geo") or "OTHER"
        regions[geo]["shipments"] += 1
        late = is_late(item, today)
        regions[geo]["late"] += late
        regions[geo]["exceptions"] += item.get("status") == Status.EXCEPTION.value
        eta = (item.get("eta") or {}).get("date")
        if item.get("status") == Status.DELIVERED.value and eta:
            delivered += 1
            on_time += not late
        hours = transit_hours(item)
        if hours is not None:
            origin, dest = _country(item.get("origin")) or "?", _country(item.get("location")) or "?"
            routes[(origin, dest)].append(hours)
            geo_routes[(geography(origin) if origin != "?" else "OTHER", geo)].append(hours)

    def averages(groups: dict[tuple[str, str], list[float]]) -> list[dict[str, Any]]:
        rows = [{"from": a, "to": b, "shipments": len(v), "avg_hours": round(sum(v) / len(v), 1)}
                for (a, b), v in groups.items()]
        return sorted(rows, key=lambda r: (-r["shipments"], r["from"], r["to"]))

    all_hours = [h for v in routes.values() for h in v]
    since = utc_key(now - timedelta(minutes=RATE_WINDOW_MIN))
    stored = reader.count_stored_since(merchant_id, since, RATE_CAP)
    updated = [i["updated_at"] for i in items if i.get("updated_at")]
    attention, attention_capped = reader.count_attention(merchant_id, COUNT_CAP)
    return {
        "merchant_id": merchant_id,
        "generated_at": utc_key(now),
        "counts": {"by_status": counts, "total": sum(counts.values()), "capped": capped, "cap_per_status": COUNT_CAP,
                   "method": "by_status Query, Select=COUNT, per status"},
        "needs_attention": {"count": attention, "capped": attention_capped},
        "exceptions": {"current": counts[Status.EXCEPTION.value],
                       "in_sample": sum(r["exceptions"] for r in regions.values())},
        "sample": {
            "method": f"most recently active {sample} shipments (by_ingested Query, last stored first)",
            "requested": sample, "size": len(items),
            "from": min(updated) if updated else None, "to": max(updated) if updated else None,
        },
        "on_time": {"delivered_with_eta": delivered, "on_time": on_time,
                    "rate": round(on_time / delivered, 4) if delivered else None,
                    "definition": "DELIVERED milestone date (UTC) on or before eta.date"},
        "transit": {"avg_hours": round(sum(all_hours) / len(all_hours), 1) if all_hours else None,
                    "shipments": len(all_hours), "by_route": averages(routes)[:20],
                    "by_geo": averages(geo_routes), "definition": "PICKED_UP to DELIVERED milestones"},
        "delays_by_region": [{"geo": g, **{k: int(v) for k, v in c.items()}} for g, c in sorted(regions.items())],
        "throughput": throughput(updated),
        "events_per_minute": {
            "window_minutes": RATE_WINDOW_MIN, "updates": stored, "capped": stored >= RATE_CAP,
            "rate": round(stored / RATE_WINDOW_MIN, 2),
            "definition": "shipments stored in the last 15 minutes (by_ingested Query, Select=COUNT), per minute",
        },
    }

