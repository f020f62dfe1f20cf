"""`logistics alarms` against CloudWatch on the suite's moto server: the template's alarms and their states."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from local_runtime.alarms import alarm_specs as alarms_of
from local_runtime.cli import alarms
from local_runtime.cli.commands import build_parser
from local_runtime.cloudformation import load_template
from local_runtime.esm.metrics import NAMESPACE, deployed_mapping_ids

ROOT = Path(__file__).resolve().parents[3]


def test_alarms_lists_each_alarm_with_its_state(moto_endpoint: str) -> None:
    stack = f"alarms-{uuid.uuid4().hex[:8]}"  # its own mapping UUIDs and function names on the shared server
    template = load_template(ROOT / "template.yaml", config_env="local", stack_name=stack)
    shipments = deployed_mapping_ids(template)["IngestShipmentsMskMapping"]
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
    now = datetime.now(UTC)
    # The shipment mapping 20,000 records behind in each of the last 5 minutes; the warehouse one never seen;
    # the notifier's iterator age high once only (the alarm needs 2 of 3).
    for minutes in range(5):
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=[{
            "MetricName": "MaxOffsetLag", "Timestamp": now - timedelta(minutes=minutes), "Value": 20_000.0,
            "Dimensions": [{"Name": "EventSourceMappingUUID", "Value": shipments}]}])
    cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=[{
        "MetricName": "IteratorAge", "Timestamp": now, "Value": 900_000.0, "Unit": "Milliseconds",
        "Dimensions": [{"Name": "FunctionName", "Value": template.function("NotifyFunction").name}]}])

    out, err = io.StringIO(), io.StringIO()
    args = build_parser().parse_args(["alarms", "--template", str(ROOT / "template.yaml"), "--stack-name", stack,
                                      "--endpoint", moto_endpoint, "--strict"])
    code = alarms.run(args, out=out, err=err)
    lines = {line.split()[1]: line.split()[0] for line in out.getvalue().splitlines()}
    # The error and dead-letter alarms have no datapoint here: notBreaching, so OK.
    expected = {spec.logical_id: "OK" for spec in alarms_of(template)} | {"IngestShipmentsLagAlarm": "ALARM"}
    assert lines == expected, out.getvalue() + err.getvalue()
    assert code == 3  # --strict: an alarm is in ALARM


def test_alarms_without_an_endpoint_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_LOGS", raising=False)

    args = build_parser().parse_args(["alarms", "--template", str(ROOT / "template.yaml"),
                                      "--state-dir", str(tmp_path)])
    err = io.StringIO()
    assert alarms.run(args, out=io.StringIO(), err=err) == 1
    assert "no CloudWatch endpoint" in err.getvalue()
