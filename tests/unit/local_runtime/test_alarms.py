"""Threshold alarms evaluated as CloudWatch does: periods, statistic, M of N, missing data."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local_runtime.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    NOT_EVALUATED,
    OK,
    AlarmSpec,
    alarm_specs,
    evaluate,
    period_values,
)
from local_runtime.cloudformation import load_template
from local_runtime.esm.metrics import deployed_mapping_ids

ROOT = Path(__file__).resolve().parents[3]
SPEC = AlarmSpec(logical_id="LagAlarm", name="lag", namespace="AWS/Lambda", metric_name="MaxOffsetLag",
                 dimensions=(("EventSourceMappingUUID", "u-1"),), statistic="Maximum", period_s=60,
                 evaluation_periods=3, datapoints_to_alarm=2, threshold=100.0, comparison="GreaterThanThreshold")


@pytest.mark.parametrize(("values", "treat", "state"), [
    ((150.0, 10.0, 200.0), "missing", ALARM),  # 2 of 3 breach
    ((150.0, 10.0, 100.0), "missing", OK),  # 100 is not > 100
    ((None, None, None), "missing", INSUFFICIENT_DATA),
    ((None, None, None), "ignore", INSUFFICIENT_DATA),
    ((None, None, None), "notBreaching", OK),
    ((None, None, None), "breaching", ALARM),
    ((None, 150.0, None), "missing", OK),  # one breach, missing periods count for nothing
    ((None, 150.0, None), "breaching", ALARM),
])
def test_m_of_n_with_missing_data(values: tuple[float | None, ...], treat: str, state: str) -> None:
    spec = dataclasses.replace(SPEC, treat_missing_data=treat)
    assert evaluate(spec, values).state == state


@pytest.mark.parametrize(("comparison", "value", "breaches"), [
    ("GreaterThanOrEqualToThreshold", 100.0, True), ("GreaterThanThreshold", 100.0, False),
    ("LessThanThreshold", 99.0, True), ("LessThanOrEqualToThreshold", 101.0, False)])
def test_comparison_operators(comparison: str, value: float, breaches: bool) -> None:
    spec = dataclasses.replace(SPEC, comparison=comparison, evaluation_periods=1, datapoints_to_alarm=1)
    assert evaluate(spec, (value,)).state == (ALARM if breaches else OK)


def test_unsupported_alarms_are_reported_not_guessed() -> None:
    spec = dataclasses.replace(SPEC, unsupported="metric math (Metrics) is not evaluated locally")
    state = evaluate(spec, (500.0, 500.0, 500.0))
    assert state.state == NOT_EVALUATED and "metric math" in state.reason


class _CloudWatch:
    """Answers GetMetricStatistics from fixed datapoints, and records the request."""

    def __init__(self, points: list[dict[str, Any]]) -> None:
        self.points = points
        self.requests: list[dict[str, Any]] = []

    def get_metric_statistics(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"Datapoints": [p for p in self.points if request["StartTime"] <= p["Timestamp"] < request["EndTime"]]}


def test_period_values_align_on_the_period_and_include_the_open_one() -> None:
    now = datetime(2026, 12, 1, 12, 2, 30, tzinfo=UTC)  # in the period 12:02-12:03
    minute = timedelta(minutes=1)
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    cloudwatch = _CloudWatch([{"Timestamp": start, "Maximum": 5.0}, {"Timestamp": start + 2 * minute, "Maximum": 7.0},
                              {"Timestamp": start - minute, "Maximum": 900.0}])  # before the window
    assert period_values(cloudwatch, SPEC, now) == (5.0, None, 7.0)
    request = cloudwatch.requests[0]
    assert (request["StartTime"], request["EndTime"]) == (start, start + 3 * minute)
    assert request["Dimensions"] == [{"Name": "EventSourceMappingUUID", "Value": "u-1"}]
    assert request["Statistics"] == ["Maximum"] and request["Period"] == 60


def test_the_templates_alarms_name_what_the_platform_publishes() -> None:
    template = load_template(ROOT / "template.yaml", config_env="local")
    specs = {s.logical_id: s for s in alarm_specs(template)}
    ids = deployed_mapping_ids(template)
    for alarm, mapping in (("IngestShipmentsLagAlarm", "IngestShipmentsMskMapping"),
                           ("IngestWarehouseLagAlarm", "IngestWarehouseMskMapping")):
        assert dict(specs[alarm].dimensions) == {"EventSourceMappingUUID": ids[mapping]}
    notify = specs["NotifyIteratorAgeAlarm"]
    assert dict(notify.dimensions) == {"FunctionName": template.function("NotifyFunction").name}
    assert (notify.statistic, notify.evaluation_periods, notify.datapoints_to_alarm) == ("Maximum", 3, 2)
    assert all(s.unsupported is None for s in specs.values())
