"""A template's ``AWS::CloudWatch::Alarm`` resources, evaluated against a (local) CloudWatch's metrics.

Only simple threshold alarms on one metric are evaluated, as CloudWatch does (docs/SCHEMA_REGISTRY.md,
"Alarms"): the last ``EvaluationPeriods`` periods of ``Period`` seconds, each period's ``Statistic`` compared
with ``Threshold`` by ``ComparisonOperator``; ``ALARM`` when at least ``DatapointsToAlarm`` (default
``EvaluationPeriods``) periods breach. A period without a datapoint counts as ``TreatMissingData`` says:
``breaching``, ``notBreaching``, or (``missing``, ``ignore``) not at all, so that with no datapoint in any
period the state is ``INSUFFICIENT_DATA``. The periods are aligned on multiples of ``Period`` and the current,
still open one is included (a local run is minutes long). Metric math, anomaly detection and extended
statistics (percentiles) are reported as not evaluated.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["ALARM", "INSUFFICIENT_DATA", "NOT_EVALUATED", "OK", "AlarmSpec", "AlarmState", "alarm_specs",
           "evaluate", "evaluate_all", "period_values"]

ALARM, OK, INSUFFICIENT_DATA = "ALARM", "OK", "INSUFFICIENT_DATA"
NOT_EVALUATED = "NOT_EVALUATED"  # an alarm this module cannot evaluate (metric math, anomaly bands...)

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_MISSING = ("missing", "ignore", "breaching", "notBreaching")


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm of a template, its intrinsics resolved. ``unsupported`` says why it is not evaluated."""

    logical_id: str
    name: str
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    period_s: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str = "missing"
    unsupported: str | None = None


@dataclass(frozen=True)
class AlarmState:
    """The state of one alarm now, the values of its periods (oldest first; None: no datapoint), and why."""

    spec: AlarmSpec
    state: str
    values: tuple[float | None, ...]
    reason: str


def alarm_specs(template: Any) -> list[AlarmSpec]:
    """Every ``AWS::CloudWatch::Alarm`` of ``template`` (a loaded ``Template``), in template order."""
    specs = []
    for logical_id, resource in template.resources.items():
        if resource.type == "AWS::CloudWatch::Alarm":
            specs.append(_spec(template, logical_id, resource.properties))
    return specs


def _spec(template: Any, logical_id: str, props: dict[str, Any]) -> AlarmSpec:
    name = str(props.get("AlarmName") or f"{template.context.stack_name}-{logical_id}")
    evaluation_periods = int(props.get("EvaluationPeriods") or 1)
    unsupported = None
    if props.get("Metrics"):
        unsupported = "metric math (Metrics) is not evaluated locally"
    elif props.get("ExtendedStatistic"):
        unsupported = "extended statistics (percentiles) are not evaluated locally"
    elif props.get("ComparisonOperator") not in _COMPARE:
        unsupported = f"ComparisonOperator {props.get('ComparisonOperator')} is not evaluated locally"
    elif props.get("Statistic") not in _STATISTICS:
        unsupported = f"Statistic {props.get('Statistic')!r} is not one of {', '.join(_STATISTICS)}"
    treat = str(props.get("TreatMissingData") or "missing")
    if treat not in _MISSING:
        unsupported = f"TreatMissingData {treat!r} is not one of {', '.join(_MISSING)}"
    return AlarmSpec(
        logical_id=logical_id, name=name, namespace=str(props.get("Namespace", "")),
        metric_name=str(props.get("MetricName", "")),
        dimensions=tuple((str(d["Name"]), str(d["Value"])) for d in props.get("Dimensions") or ()),
        statistic=str(props.get("Statistic", "")), period_s=int(props.get("Period") or 60),
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=int(props.get("DatapointsToAlarm") or evaluation_periods),
        threshold=float(props.get("Threshold") or 0.0), comparison=str(props.get("ComparisonOperator", "")),
        treat_missing_data=treat, unsupported=unsupported)


def period_values(cloudwatch: Any, spec: AlarmSpec, now: datetime) -> tuple[float | None, ...]:
    """The statistic of each of the alarm's evaluation periods, oldest first (None: no datapoint)."""
    period = spec.period_s
    end_epoch = (math.floor(now.timestamp() / period) + 1) * period  # the end of the current, open period
    start_epoch = end_epoch - spec.evaluation_periods * period
    response = cloudwatch.get_metric_statistics(
        Namespace=spec.namespace, MetricName=spec.metric_name, Period=period, Statistics=[spec.statistic],
        Dimensions=[{"Name": n, "Value": v} for n, v in spec.dimensions],
        StartTime=datetime.fromtimestamp(start_epoch, UTC), EndTime=datetime.fromtimestamp(end_epoch, UTC))
    values: list[float | None] = [None] * spec.evaluation_periods
    for point in response.get("Datapoints", []):
        stamp = point["Timestamp"].timestamp()
        index = int((stamp - start_epoch) // period)
        if 0 <= index < len(values):
            value = float(point[spec.statistic])
            previous = values[index]
            # Several datapoints in one period (a store that does not aggregate): combine them as the statistic.
            values[index] = value if previous is None else _combine(spec.statistic, previous, value)
    return tuple(values)


def _combine(statistic: str, a: float, b: float) -> float:
    if statistic == "Maximum":
        return max(a, b)
    if statistic == "Minimum":
        return min(a, b)
    if statistic == "Average":
        return (a + b) / 2
    return a + b  # Sum, SampleCount


def evaluate(spec: AlarmSpec, values: Sequence[float | None]) -> AlarmState:
    """The alarm's state for the given period values (oldest first)."""
    if spec.unsupported:
        return AlarmState(spec, NOT_EVALUATED, tuple(values), spec.unsupported)
    compare = _COMPARE[spec.comparison]
    present = [v for v in values if v is not None]
    breaching = sum(1 for v in present if compare(v, spec.threshold))
    missing = len(values) - len(present)
    if spec.treat_missing_data == "breaching":
        breaching += missing
    m, n = spec.datapoints_to_alarm, len(values)
    if breaching >= m:
        reason = f"{breaching} of the last {n} periods breach {spec.comparison} {spec.threshold:g} (alarm at {m})"
        return AlarmState(spec, ALARM, tuple(values), reason)
    if not present and spec.treat_missing_data in ("missing", "ignore"):
        return AlarmState(spec, INSUFFICIENT_DATA, tuple(values), f"no datapoint in the last {n} periods")
    reason = f"{breaching} of the last {n} periods breach {spec.comparison} {spec.threshold:g} (alarm at {m})"
    return AlarmState(spec, OK, tuple(values), reason)


def evaluate_all(cloudwatch: Any, specs: Sequence[AlarmSpec], now: datetime | None = None) -> list[AlarmState]:
    """Every alarm's state now, reading its metric from ``cloudwatch``."""
    moment = now or datetime.now(UTC)
    return [evaluate(s, () if s.unsupported else period_values(cloudwatch, s, moment)) for s in specs]

