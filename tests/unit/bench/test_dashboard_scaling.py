"""bench.dashboard_scaling without a DynamoDB: the items it loads, the figures and ratios it reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import dashboard_scaling as bench
from bench.results import merge

ROOT = Path(__file__).resolve().parents[3]


def _shipments_table() -> object:
    from local_runtime.cloudformation import load_template
    from local_runtime.deploy import CreateTable, plan

    template = load_template(ROOT / "template.yaml", config_env="local", stack_name="unit", region="us-east-1")
    return next(i for i in plan(template).instructions
                if isinstance(i, CreateTable) and i.logical_id == "ShipmentsTable")


def test_items_are_what_the_ingest_puts() -> None:
    from logistics.adapters.dynamodb_store import DynamoDBStateStore

    build = bench.ItemBuilder("unit-shipments")
    try:
        item = build(42)
    finally:
        build.close()
    ingest = DynamoDBStateStore(None, "unit-shipments", "-", "us-east-1")._put(bench._state(42), None)["Item"]
    assert set(item) == set(ingest)
    different = {k for k in item if item[k] != ingest[k]}
    assert different <= {"tracking_token", "ingested_key"}  # random token; store time = the event's time
    if "ingested_key" in item:
        assert item["ingested_key"]["S"].startswith(bench._at(42) + "#")


def test_items_carry_the_keys_of_the_indexes_the_cases_read() -> None:
    table = _shipments_table()
    build = bench.ItemBuilder("unit-shipments")
    try:
        item = build(0)  # IN_TRANSIT, DE
    finally:
        build.close()
    for attribute in table.key_schema:  # type: ignore[attr-defined]
        assert attribute["AttributeName"] in item
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
               for i in table.global_secondary_indexes}  # type: ignore[attr-defined]
    for name in ("by_status", "by_ingested"):
        assert all(key in item for key in indexes[name]), name


def _stack(size: int, total_ms: float) -> bench.Stack:
    stack = bench.Stack(size, {}, load_s=size / 1000)
    for name, _ in bench.CASES:
        stack.samples[name] = {"total": [total_ms / 1000] * 3, "in_dynamodb": [total_ms / 2000] * 3,
                               "items_read": [50] * 3, "calls": [2] * 3}
    return stack


def test_ratios_and_goal() -> None:
    ok = bench._figures([_stack(1000, 20.0), _stack(100_000, 26.0)], runs=3, described="DynamoDB Local")
    ratios = ok["ratios"]["cases"]
    assert ratios["list (limit 50)"]["total"] == pytest.approx(1.3)
    assert ratios["list (limit 50)"]["items_read"] == 1.0
    assert ok["ratios"]["within_goal"] is True
    assert ok["sizes"]["100000"]["load_items_per_s"] == 1000
    lines = bench.report(ok)
    assert "DynamoDB Local" in lines[0]
    assert any("total 1.30x (ok)" in line for line in lines)

    slow = bench._figures([_stack(1000, 20.0), _stack(100_000, 40.0)], runs=3, described="x")
    assert slow["ratios"]["within_goal"] is False
    assert any("OVER GOAL" in line for line in bench.report(slow))


def test_results_merge_keeps_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "results" / "latest.json"
    merge("cost", {"total": 1}, path)
    merge("dashboard_scaling", {"ratios": 2}, path)
    merge("cost", {"total": 3}, path)
    assert json.loads(path.read_text()) == {"cost": {"total": 3}, "dashboard_scaling": {"ratios": 2}}
