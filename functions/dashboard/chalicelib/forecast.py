"""Lanes and predictions for the pages: the lane tables, the at-risk queue, a shipment's prediction.

Every read is bounded: a merchant's aggregates are four Queries on LanesTable (``L#``, ``C#``, ``D#``, ``M#``),
kept per process for ``STATS_TTL_S`` (they change when a tumbling window closes, not per request); the at-risk
queue predicts the ``AT_RISK_SAMPLE`` most recently active shipments (one by_ingested Query and its
BatchGetItems, as the overview's latest list). The current prediction is computed here, never stored; the
original one (the first made for a shipment) is read from ``P#<shipment>`` on the shipment page and API.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib import deps
from chalicelib.cache import TTLCache
from logistics.adapters.codec import shipment_from_item
from logistics.adapters.dynamodb_lanes import DynamoDBLaneStore
from logistics.adapters.dynamodb_predictions import DynamoDBToldPredictions
from logistics.domain.lanes import PHASES, LaneStats
from logistics.domain.prediction import Prediction, predict

AGGREGATE_KINDS = ("L#", "C#", "D#", "M#")
STATS_TTL_S = 60.0
AT_RISK_SAMPLE = 200
_OPEN = frozenset(p.value for p in PHASES)
_stats_cache: TTLCache[tuple[str, str], dict[str, LaneStats]] = TTLCache(maxsize=256, ttl_s=STATS_TTL_S)


@dataclass(frozen=True)
class AtRisk:
    """Open shipments whose most likely date is past the promised one, among the ``sample`` read."""

    rows: list[dict[str, Any]]  # {"shipment": item, "prediction": Prediction}, furthest past the promise first
    open_shipments: int  # open shipments in the sample
    sample: int  # shipments read


def _table() -> str:
    return os.environ["LANES_TABLE"]


def aggregates(merchant_id: str) -> dict[str, LaneStats]:
    """Every lane and rollup of the merchant by aggregate name (four Queries, cached ``STATS_TTL_S``)."""
    key = (_table(), merchant_id)
    cached = _stats_cache.get(key)
    if cached is not None:
        return cached[0]
    store = DynamoDBLaneStore(deps.dynamodb(), key[0])
    found = {name: stats for kind in AGGREGATE_KINDS for name, stats in store.list(merchant_id, kind)}
    _stats_cache.put(key, found)
    return found


def of_kind(stats: dict[str, LaneStats], kind: str) -> list[tuple[str, LaneStats]]:
    """The aggregates of one kind (``L#``, ``C#``, ``D#``), names without the prefix, busiest first."""
    rows = [(name[len(kind):], s) for name, s in stats.items() if name.startswith(kind)]
    return sorted(rows, key=lambda r: (-r[1].delivered, r[0]))


def prediction_of(item: dict[str, Any], now: datetime | None = None) -> Prediction | None:
    """The prediction for a stored shipment item (None when it is not under way or nothing was learned)."""
    if item.get("status") not in _OPEN:
        return None
    return predict(shipment_from_item(item), aggregates(item["merchant_id"]), now or deps.clock()())


def original_of(merchant_id: str, shipment_id: str) -> dict[str, Any] | None:
    """The first prediction made for the shipment (``P#<id>``'s ``original``: kept once by the notifier or the
    scheduled check), or None when none was made yet. One eventually consistent GetItem (0.5 read units)."""
    told = DynamoDBToldPredictions(deps.dynamodb(), _table()).get(merchant_id, shipment_id, consistent=False)
    original = (told or {}).get("original")
    return dict(original) if isinstance(original, dict) else None


def days_late(made: Prediction) -> int:
    """Days from the promised (carrier) date to the most likely one; 0 without a promise."""
    if made.carrier_eta is None:
        return 0
    try:
        return (made.likely - date.fromisoformat(made.carrier_eta)).days
    except ValueError:  # an ETA that is not a date: nothing to compare with
        return 0


def at_risk(merchant_id: str, sample: int = AT_RISK_SAMPLE) -> AtRisk:
    """Open shipments trending late among the ``sample`` most recently active ones."""
    now = deps.clock()()
    items = [i for i in deps.reader().latest(merchant_id, sample) if i.get("merchant_id") == merchant_id]
    open_items = [i for i in items if i.get("status") in _OPEN]
    rows = []
    for item in open_items:
        made = prediction_of(item, now)
        if made is not None and made.trending_late:
            rows.append({"shipment": item, "prediction": made})
    rows.sort(key=lambda r: (-days_late(r["prediction"]), r["shipment"]["shipment_id"]))
    return AtRisk(rows, len(open_items), len(items))
