"""bench.cost.run's arithmetic: units per event, on-demand prices, monthly figures, the results file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cost.run import figures, monthly_usd, usd_per_million_events, write_results


def test_prices() -> None:
    # $0.625 per million write request units, $0.125 per million read request units
    assert usd_per_million_events(1, 0) == 0.625
    assert usd_per_million_events(0, 1) == 0.125
    assert usd_per_million_events(8, 2) == pytest.approx(5.25)


def test_monthly_at_10k_events_per_second() -> None:
    # 10,000 events/s x 30 days = 25,920 million events
    assert monthly_usd(1, 0) == pytest.approx(25_920 * 0.625)
    assert monthly_usd(0, 1) == pytest.approx(25_920 * 0.125)
    # one Global Tables replica: every write once more, reads unchanged
    assert monthly_usd(2, 1, replicas=1) == pytest.approx(25_920 * (4 * 0.625 + 0.125))


def test_figures_from_a_snapshot() -> None:
    tally = {"write_units": 20.0, "read_units": 4.0, "requests": 10, "items_written": 10, "items_read": 8,
             "bytes_written": 16_000}
    index = {"write_units": 30.0, "read_units": 0.0, "requests": 0, "items_written": 15, "items_read": 0,
             "bytes_written": 0}
    snapshot = {"tables": {"s-shipments": {**tally, "operations": {"PutItem": 10}, "indexes": {"by_x": index}}},
                "unrecorded": {}}
    result = figures(snapshot, 10, {"s-shipments": "ShipmentsTable"})
    shipments = result["tables"]["ShipmentsTable"]
    assert shipments["write_units_per_event"] == 5.0  # (20 + 30) / 10
    assert shipments["table_only"]["write_units_per_event"] == 2.0
    assert shipments["indexes"]["by_x"]["write_units_per_event"] == 3.0
    assert shipments["mean_item_bytes_written"] == 1600
    assert result["total"]["read_units_per_event"] == 0.4
    assert result["total"]["usd_per_million_events"] == pytest.approx(5 * 0.625 + 0.4 * 0.125)


def test_results_are_merged_under_cost(tmp_path: Path) -> None:
    path = tmp_path / "results" / "latest.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"ingest": {"eps": 1}, "cost": {"old": True}}))
    write_results({"total": {"write_units_per_event": 8}}, path)
    assert json.loads(path.read_text()) == {"ingest": {"eps": 1}, "cost": {"total": {"write_units_per_event": 8}}}
    write_results({"x": 1}, tmp_path / "new" / "latest.json")
    assert json.loads((tmp_path / "new" / "latest.json").read_text()) == {"cost": {"x": 1}}


def test_lanes_writes_are_split_into_aggregates_and_predictions() -> None:
    from bench.cost.capacity import WriteCost
    from bench.cost.recorder import Meter
    from bench.cost.run import AGGREGATES, PREDICTIONS, lanes_kind, report

    assert lanes_kind("s-lanes", {"merchant_id": {"S": "m"}, "aggregate": {"S": "L#DHL|-|DE>Europe/Berlin"}}) \
        == AGGREGATES
    assert lanes_kind("s-lanes", {"merchant_id": {"S": "m"}, "aggregate": {"S": "P#s1"}}) == PREDICTIONS
    assert lanes_kind("s-shipments", {"merchant_id": {"S": "m"}, "shipment_id": {"S": "s1"}}) is None
    meter = Meter()
    for _ in range(3):  # a 1.5 KB aggregate merged three times: 2 units each
        meter.write("s-lanes", WriteCost(table_units=2), 1500, AGGREGATES)
    meter.write("s-lanes", WriteCost(table_units=1), 300, PREDICTIONS)
    meter.write("s-shipments", WriteCost(table_units=2, index_units={"by_x": 1}, index_writes={"by_x": 1}), 1400)

    result = figures(meter.snapshot(), 100, {"s-lanes": "LanesTable", "s-shipments": "ShipmentsTable"})

    kinds = result["tables"]["LanesTable"]["kinds"]
    assert kinds[AGGREGATES] == {"write_units_per_event": 0.06, "items_written_per_event": 0.03,
                                 "mean_item_bytes_written": 1500}
    assert kinds[PREDICTIONS]["write_units_per_event"] == 0.01
    assert result["tables"]["ShipmentsTable"]["kinds"] == {}
    assert result["lanes"]["write_units_per_event"] == pytest.approx(0.07)
    assert result["lanes"]["aggregates_write_units_per_event"] == 0.06
    assert result["lanes"]["predictions_items_written_per_event"] == 0.01
    lines = report({**result, "seed": 7, "mix": "m", "pacing": "p", "pipeline_seconds": 1.0})
    assert "[cost] lanes add 0.070 write units per event: aggregates (LanesFunction's per-window merges) 0.060, " \
           "predictions (P#: originals and revisions told) 0.010" in lines
