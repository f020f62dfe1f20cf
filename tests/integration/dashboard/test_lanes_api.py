"""The lanes API (JSON and CSV) and a shipment's predicted delivery date, read from LanesTable."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from logistics.adapters.dynamodb_lanes import DynamoDBLaneStore
from logistics.adapters.dynamodb_predictions import DynamoDBToldPredictions
from logistics.domain.lanes import Histogram, LaneStats
from tests.factories import shipment_event
from tests.integration.dashboard.support import Stack, deps, load_app, stack_environment

M = "m-lanes"
LANE = "DHL|-|DE>Europe/Berlin"


@pytest.fixture(scope="module")
def laned(moto_endpoint: str) -> Iterator[Stack]:
    name = f"lanes-{uuid.uuid4().hex[:8]}"
    with stack_environment(moto_endpoint, name) as deployed:
        deployed.ingest([shipment_event("s1", "IN_TRANSIT", "2026-11-20T09:00:00+01:00", merchant_id=M)])
        transit, remaining = Histogram(), Histogram()
        for _ in range(20):
            transit.add(30.0)
            remaining.add(48.0)
        stats = LaneStats(20, 15, 20, {"transit": transit, "IN_TRANSIT": remaining},
                          {"2026-11-18": [12, 9, 12], "2026-11-19": [8, 6, 8]})
        DynamoDBLaneStore(deployed.dynamodb, f"{name}-lanes").merge(M, f"L#{LANE}", stats, "w1")
        deployed.issue_key(M)
        deps().override(clock=lambda: datetime(2026, 11, 20, 10, tzinfo=UTC))
        yield deployed


@pytest.fixture(scope="module")
def client(laned: Stack, tmp_path_factory: pytest.TempPathFactory) -> Client:
    return Client(load_app().app, project_dir=str(tmp_path_factory.mktemp("chalice")))


def get(client: Client, stack: Stack, path: str) -> Any:
    response = client.http.get(path, headers={"Authorization": f"Bearer {stack.keys[M]}"})
    assert response.status_code == 200, (path, response.body[:300])
    return response


def test_lanes_list_volume_on_time_and_transit_quantiles(client: Client, laned: Stack) -> None:
    body = json.loads(get(client, laned, "/api/v1/lanes").body)
    [lane] = body["items"]
    assert (lane["lane"], lane["delivered"], lane["on_time_rate"]) == (LANE, 20, 0.75)
    assert 26 <= lane["transit_p50_h"] <= 34 and lane["transit_p50_h"] <= lane["transit_p90_h"] <= 34
    assert [p["delivered"] for p in lane["series"]] == [12, 8]
    rows = list(csv.DictReader(io.StringIO(get(client, laned, "/api/v1/lanes.csv").body.decode())))
    assert [(r["lane"], r["delivered"], r["on_time_rate"]) for r in rows] == [(LANE, "20", "0.75")]


def test_prediction_of_a_shipment_under_way(client: Client, laned: Stack) -> None:
    body = json.loads(get(client, laned, "/api/v1/shipments/s1/prediction").body)
    assert body["lane"] == LANE
    made = body["prediction"]
    assert made["basis"] == "lane" and made["samples"] == 20
    assert made["likely"] == "2026-11-22" and made["carrier_eta"] == "2026-11-22" and not made["trending_late"]
    missing = client.http.get("/api/v1/shipments/nope/prediction",
                              headers={"Authorization": f"Bearer {laned.keys[M]}"})
    assert missing.status_code == 404


def test_the_original_prediction_is_shown_next_to_the_current_one(client: Client, laned: Stack) -> None:
    path = "/api/v1/shipments/s1/prediction"
    assert json.loads(get(client, laned, path).body)["original"] is None  # none made by the notifier yet
    first = {"likely": "2026-11-21", "earliest": "2026-11-21", "latest": "2026-11-22", "basis": "carrier",
             "samples": 9, "carrier_eta": "2026-11-22", "trending_late": False, "made_at": "2026-11-19T08:00:00+00:00",
             "likely_at": "2026-11-21T12:00:00+00:00"}
    told = DynamoDBToldPredictions(laned.dynamodb, laned.env["LANES_TABLE"])
    told.record_original(M, "s1", first)
    told.record_original(M, "s1", {**first, "likely": "2026-12-24"})  # kept once: a later one changes nothing

    body = json.loads(get(client, laned, path).body)
    assert body["original"] == first and body["prediction"]["likely"] == "2026-11-22"
    detail = json.loads(get(client, laned, "/api/v1/shipments/s1").body)
    assert detail["original"] == first and detail["prediction"] == body["prediction"]
    html = get(client, laned, "/shipments/s1").body.decode()
    assert '<span id="original-prediction">2026-11-21 (2026-11-21 to 2026-11-22), made 2026-11-19</span>' in html
