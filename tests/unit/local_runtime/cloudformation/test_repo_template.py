"""local_runtime.cloudformation on the repo's own template.yaml (local environment, SelfManagedKafka, global tables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_runtime.cloudformation import load_template
from tests.unit.local_runtime.cloudformation.support import REPO_TEMPLATE

# ------------------------------------------------------------------------------------ the repo's template


@pytest.fixture
def repo_template_path() -> Path:
    if not REPO_TEMPLATE.is_file():
        pytest.skip("template.yaml not written yet")
    return REPO_TEMPLATE


def test_repo_template_local_env(repo_template_path: Path) -> None:
    t = load_template(repo_template_path, config_env="local")
    names = {f.logical_id for f in t.functions()}
    assert {"IngestFunction", "NotifyFunction"} <= names
    ingest = t.function("IngestFunction")
    assert ingest.code_uri is not None and (ingest.code_uri / "app.py").is_file()
    assert ingest.layers and all(p.is_dir() for p in ingest.layers)
    assert ingest.environment["SHIPMENTS_TABLE"].endswith("-shipments")
    mappings = t.event_source_mappings()
    kafka = [m for m in mappings if m.function_logical_id == "IngestFunction"]
    assert kafka and all(m.kind == "MSK" and len(m.topics) == 1 and m.consumer_group_id for m in kafka)
    streams = [m for m in mappings if m.kind == "DynamoDB"]
    # Two consumers of the shipments stream: notifications, and the lane statistics (tumbling windows).
    assert sorted(m.function_logical_id for m in streams) == ["LanesFunction", "NotifyFunction"]
    assert {m.extra["table_logical_id"] for m in streams} == {"ShipmentsTable"}
    assert [m.tumbling_window_s for m in streams if m.function_logical_id == "LanesFunction"] == [60]


def test_repo_template_self_managed_and_global_tables(repo_template_path: Path) -> None:
    t = load_template(
        repo_template_path,
        config_env="local",
        region="us-east-1",
        parameter_overrides={
            "KafkaMode": "SelfManagedKafka",
            "GlobalTables": "true",
            "KafkaBootstrapServers": "127.0.0.1:19092",
        },
    )
    kafka = [m for m in t.event_source_mappings() if m.kind != "DynamoDB"]
    assert kafka and all(m.kind == "SelfManagedKafka" and m.bootstrap_servers == ("127.0.0.1:19092",) for m in kafka)
    streams = [m for m in t.event_source_mappings() if m.kind == "DynamoDB"]
    assert streams[0].extra["table_logical_id"] == "ShipmentsTableGlobal"
    assert "ShipmentsTable" not in t.resources
