"""`logistics invoke` (the container-free `sam local invoke`) for every function of template.yaml with the
sample events in events/, as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

CASES = {
    "IngestFunction": ["ingest/msk.json", "ingest/self-managed.json", "ingest/mixed-poison.json"],
    "NotifyFunction": ["notify/insert.json", "notify/status-change.json", "notify/no-status-change.json",
                       "notify/replica-status-change.json"],
    "DeferredNotifyFunction": ["deferred/schedule.json"],
    "LanesFunction": ["lanes/window-delivered.json", "lanes/window-final-empty.json"],
    "DashboardFunction": ["dashboard/api-me-unauthenticated.json", "dashboard/track-unknown-token.json"],
}


def test_every_template_function_has_sample_events() -> None:
    from local_runtime.cloudformation import load_template

    functions = {f.logical_id for f in load_template(ROOT / "template.yaml", config_env="local").functions()}
    assert functions == set(CASES)
    on_disk = {str(p.relative_to(ROOT / "events")) for p in (ROOT / "events").rglob("*.json")}
    assert on_disk == {e for events in CASES.values() for e in events}


@pytest.mark.parametrize(("function", "event"), [(f, e) for f, events in CASES.items() for e in events])
def test_logistics_invoke(function: str, event: str, moto_endpoint: str) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint}
    done = subprocess.run(
        [sys.executable, "-m", "local_runtime.cli", "invoke", function, "--event", f"events/{event}",
         "--stack-name", f"invoke-{uuid.uuid4().hex[:8]}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    response = json.loads(done.stdout)
    if function in ("IngestFunction", "NotifyFunction"):
        assert response == {"batchItemFailures": []}, response  # every sample is processed or dead-lettered
    elif event == "lanes/window-delivered.json":  # a tumbling window's state: the delivery in its lanes
        assert response["batchItemFailures"] == []
        assert {k.split("\t")[1] for k in response["state"]["lanes"]} >= {"C#dhl", "D#Europe/Berlin"}
    elif event == "lanes/window-final-empty.json":  # the window's final invocation, nothing gathered
        assert response == {"state": {}, "batchItemFailures": []}
    elif function == "DeferredNotifyFunction":
        assert response == {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0, "taken": 0, "left": 0, "errors": 0}
    elif event.startswith("dashboard/api-me"):
        assert response["statusCode"] == 401 and json.loads(response["body"])["error"]
    else:
        assert response["statusCode"] == 404 and response["headers"]["X-Frame-Options"] == "DENY"
