"""`logistics invoke` (the container-free `sam local invoke`) for every function of template.yaml with the
sample events in events/.

Every event file goes through the path the CLI takes (deploy the template, one :class:`Invoker`, the function's
worker processes), on one stack for the module with warm workers. The CLI itself runs as a user runs it for the
two events the README shows: a subprocess that deploys the same stack (idempotently) and cold-starts a worker,
with only the response JSON on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runtime.cloudformation import load_template
from local_runtime.deploy import deploy_template
from local_runtime.deploy.glue import delete_registries
from local_runtime.invoke import Invoker
from local_runtime.services.aws import account_id, aws_env, client

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# The deferred sweep comes first: its documented response (nothing due) is that of a stack no notification
# has been deferred on yet, and the module's events share one stack.
CASES = {
    "DeferredNotifyFunction": ["deferred/schedule.json"],
    "IngestFunction": ["ingest/msk.json", "ingest/self-managed.json", "ingest/mixed-poison.json"],
    "NotifyFunction": ["notify/insert.json", "notify/status-change.json", "notify/no-status-change.json",
                       "notify/replica-status-change.json"],
    "LanesFunction": ["lanes/window-delivered.json", "lanes/window-final-empty.json"],
    "DashboardFunction": ["dashboard/api-me-unauthenticated.json", "dashboard/track-unknown-token.json"],
    "DeadLettersFunction": ["dead_letters/registry-refused.json"],
    "EstimateCheckFunction": ["estimate_check/schedule.json"],
}
# What the README runs: `logistics invoke IngestFunction --event events/ingest/msk.json`, and NotifyFunction's.
CLI_CASES = [("IngestFunction", "ingest/msk.json"), ("NotifyFunction", "notify/status-change.json")]


def check_response(function: str, event: str, response: Any) -> None:
    """The documented response of ``function`` to the sample ``event``."""
    if function in ("IngestFunction", "NotifyFunction", "DeadLettersFunction"):
        assert response == {"batchItemFailures": []}, response  # every sample is processed or dead-lettered
    elif event == "lanes/window-delivered.json":  # a tumbling window's state: the delivery in its lanes
        assert response["batchItemFailures"] == []
        assert {k.split("\t")[1] for k in response["state"]["lanes"]} >= {"C#dhl", "D#Europe/Berlin"}
    elif event == "lanes/window-final-empty.json":  # the window's final invocation, nothing gathered
        assert response == {"state": {}, "batchItemFailures": []}
    elif function == "EstimateCheckFunction":  # the sample stack has no merchants, so nothing to check
        assert response["checked"] == 0 and response["told"] == 0 and not response["errors"], response
    elif function == "DeferredNotifyFunction":
        assert response == {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0, "taken": 0, "left": 0, "errors": 0}
    elif event.startswith("dashboard/api-me"):
        assert response["statusCode"] == 401 and json.loads(response["body"])["error"]
    else:
        assert response["statusCode"] == 404 and response["headers"]["X-Frame-Options"] == "DENY"


class Stack:
    """The template deployed as the CLI deploys it (samconfig's local environment, registry included), under a
    name of the module's, with an :class:`Invoker` over every function."""

    def __init__(self, endpoint: str, name: str) -> None:
        self.name = name
        self.endpoint = endpoint
        template = load_template(ROOT / "template.yaml", config_env="local", stack_name=name, endpoint_url=endpoint,
                                 account_id=account_id(endpoint))
        self.deployment, self.template = deploy_template(template, endpoint_url=endpoint)
        region = self.template.context.region
        self.invoker = Invoker(self.template.functions(), region=region, account_id=account_id(endpoint),
                               base_env=aws_env(endpoint, region))

    def close(self) -> None:
        """Kill the workers; delete the registry (moto allows 10 per account, and the endpoint is the session's)."""
        self.invoker.close()
        delete_registries(client("glue", self.endpoint, self.template.context.region),
                          self.deployment.resources.values())


@pytest.fixture(scope="module")
def stack(moto_endpoint: str) -> Iterator[Stack]:
    deployed = Stack(moto_endpoint, f"invoke-{uuid.uuid4().hex[:8]}")
    yield deployed
    deployed.close()


def test_every_template_function_has_sample_events() -> None:
    functions = {f.logical_id for f in load_template(ROOT / "template.yaml", config_env="local").functions()}
    assert functions == set(CASES)
    on_disk = {str(p.relative_to(ROOT / "events")) for p in (ROOT / "events").rglob("*.json")}
    assert on_disk == {e for events in CASES.values() for e in events}


@pytest.mark.parametrize(("function", "event"), [(f, e) for f, events in CASES.items() for e in events])
def test_sample_event_response(function: str, event: str, stack: Stack) -> None:
    payload = json.loads((ROOT / "events" / event).read_text(encoding="utf-8"))
    check_response(function, event, stack.invoker.invoke(function, payload))
    if function == "DeadLettersFunction":  # the refused record is now a dead letter, with the registry's reason
        table = stack.deployment.physical_ids()["DeadLetterTable"]
        items = client("dynamodb", stack.endpoint, stack.template.context.region).scan(TableName=table)["Items"]
        letters = {i["source"]["S"]: i for i in items}
        assert letters["shipment-events-0@57"]["reason"]["S"].startswith("DESERIALIZATION_ERROR"), letters


@pytest.mark.parametrize(("function", "event"), CLI_CASES)
def test_logistics_invoke_cli(function: str, event: str, stack: Stack) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": stack.endpoint}
    done = subprocess.run(
        [sys.executable, "-m", "local_runtime.cli", "invoke", function, "--event", f"events/{event}",
         "--stack-name", stack.name],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    check_response(function, event, json.loads(done.stdout))  # stdout holds the response and nothing else
