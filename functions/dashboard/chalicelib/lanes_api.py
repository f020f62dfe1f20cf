"""Lane statistics and predicted delivery dates in the API: ``/api/v1/lanes``, ``/api/v1/lanes.csv`` and
``/api/v1/shipments/{id}/prediction``.

Predictions are computed here, at read time, from the shipment's state and its lane's statistics (one
BatchGetItem of at most four small items): nothing is written per event for them (docs/ARCHITECTURE.md, "Lanes").
"""

from __future__ import annotations

import csv
import io
import os
from typing import Any

from chalice.app import Response

from chalicelib import deps, forecast, usecases
from chalicelib.csv_export import cell
from chalicelib.http import json_response, not_found
from logistics.adapters.codec import shipment_from_item
from logistics.adapters.dynamodb_lanes import DynamoDBLaneStore
from logistics.domain.lanes import LaneKey, LaneStats, lane_of, rollups
from logistics.domain.prediction import predict

COLUMNS = ("lane", "carrier", "service", "origin", "destination", "delivered", "on_time_rate", "transit_p50_h",
           "transit_p90_h")


def _store() -> DynamoDBLaneStore:
    return DynamoDBLaneStore(deps.dynamodb(), os.environ["LANES_TABLE"])


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def lane_row(merchant_id: str, aggregate: str, stats: LaneStats) -> dict[str, Any]:
    """One lane as the API shows it, with its per-day series (volume and on-time) for a chart."""
    key = LaneKey.parse(merchant_id, aggregate[2:])
    rate = stats.on_time_rate
    return {"lane": key.lane_id, "carrier": key.carrier, "service": key.service, "origin": key.origin,
            "destination": key.destination, "delivered": stats.delivered,
            "on_time_rate": None if rate is None else round(rate, 3),
            "transit_p50_h": _round(stats.transit_quantile(0.5)), "transit_p90_h": _round(stats.transit_quantile(0.9)),
            "series": [{"date": d, "delivered": v[0], "on_time": v[1]} for d, v in sorted(stats.days.items())]}


def lanes(merchant_id: str) -> Response:
    """GET /api/v1/lanes: every lane of the merchant, busiest first."""
    rows = [lane_row(merchant_id, a, s) for a, s in _store().list(merchant_id, "L#")]
    rows.sort(key=lambda r: (-r["delivered"], r["lane"]))
    return json_response({"items": rows})


def _csv_cell(value: Any) -> str:
    # Carrier names and places come from events: neutralised like the shipments CSV (a lone "-" is the
    # unknown marker, not a formula).
    return "-" if value == "-" else cell(value)


def lanes_csv(merchant_id: str) -> Response:
    """GET /api/v1/lanes.csv: the lane table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL, doublequote=True)
    writer.writerow(COLUMNS)
    for aggregate, stats in _store().list(merchant_id, "L#"):
        row = lane_row(merchant_id, aggregate, stats)
        writer.writerow([_csv_cell(row.get(c)) for c in COLUMNS])
    return Response(out.getvalue(), status_code=200,
                    headers={"Content-Type": "text/csv; charset=utf-8",
                             "Content-Disposition": 'attachment; filename="lanes.csv"'})


def prediction(merchant_id: str, shipment_id: str) -> Response:
    """GET /api/v1/shipments/{id}/prediction: the current prediction (most likely date, p10-p90 window, carrier
    ETA, trending late) and ``original``, the first one made for the shipment (null until one was made)."""
    item = usecases.find_shipment(merchant_id, shipment_id)
    if item is None:
        raise not_found("no such shipment")
    state = shipment_from_item(item)
    made = predict(state, _store().get(merchant_id, rollups(lane_of(state))), deps.clock()())
    return json_response({"shipment_id": state.shipment_id, "lane": lane_of(state).lane_id,
                          "prediction": made.to_dict() if made else None,
                          "original": forecast.original_of(merchant_id, state.shipment_id)})
