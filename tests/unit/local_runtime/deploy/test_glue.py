"""Glue Schema Registry resources: the repo template's contracts, the BACKWARD check, idempotent re-runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import boto3
import orjson
import pytest
from moto import mock_aws

from local_runtime.cloudformation import load_template
from local_runtime.deploy import apply, plan
from local_runtime.deploy.glue import CreateRegistry, CreateSchema, RegisterSchemaVersion, apply_glue
from local_runtime.deploy.json_compat import IncompatibleSchema, backward_problems

ROOT = Path(__file__).resolve().parents[4]
SCHEMAS = ROOT / "src" / "logistics" / "contracts" / "schemas"


REGISTRY_ON = {"KafkaSchemaRegistry": "Enabled"}  # the Glue resources exist only then


def _contract(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


def test_template_definitions_are_the_contract_files() -> None:
    tpl = load_template(ROOT / "template.yaml", config_env="local", parameter_overrides=REGISTRY_ON)
    expected = {"ShipmentEventSchema": "shipment-event.v1", "ShipmentEventSchemaV2": "shipment-event.v2",
                "WarehouseEventSchema": "warehouse-event.v1"}
    for logical_id, name in expected.items():
        definition = tpl.resources[logical_id].prop("SchemaDefinition")
        # byte-equal to what producers send to GetSchemaByDefinition (the library's compact JSON)
        assert definition == orjson.dumps(_contract(name)).decode(), logical_id


@mock_aws
def test_repo_template_registers_each_contract_version_once() -> None:
    tpl = load_template(ROOT / "template.yaml", config_env="local", parameter_overrides=REGISTRY_ON)
    glue = boto3.client("glue", region_name="us-east-1")
    clients = {"glue": glue, **{s: boto3.client(s, region_name="us-east-1") for s in ("sqs", "sns", "s3", "dynamodb")}}
    for _ in range(2):  # a second deploy finds everything
        deployment = apply(plan(tpl), endpoint_url=None, clients=clients)
    registry = deployment.resources["EventSchemaRegistry"].physical_id
    schema = glue.get_schema(SchemaId={"RegistryName": registry, "SchemaName": "shipment-event"})
    assert (schema["Compatibility"], schema["DataFormat"], schema["LatestSchemaVersion"]) == ("BACKWARD", "JSON", 2)
    v2 = glue.get_schema_version(SchemaVersionId=deployment.resources["ShipmentEventSchemaV2"].physical_id)
    assert json.loads(v2["SchemaDefinition"]) == _contract("shipment-event.v2")
    bound = tpl.bind(deployment.resources)
    assert deployment.resources["EventSchemaRegistry"].ref.endswith(f":registry/{registry}")
    assert all(m.metrics == ("EventCount", "ErrorCount", "KafkaMetrics")
               for m in bound.event_source_mappings() if m.kind != "DynamoDB")


@mock_aws
def test_a_breaking_version_is_refused_with_the_reason() -> None:
    glue = boto3.client("glue", region_name="us-east-1")
    v1 = _contract("shipment-event.v1")
    apply_glue(glue, CreateRegistry("R", "reg"), "us-east-1", "123456789012")
    apply_glue(glue, CreateSchema("S", "reg", "shipment-event", "JSON", "BACKWARD", json.dumps(v1)),
               "us-east-1", "123456789012")
    breaking = copy.deepcopy(v1)
    breaking["required"].append("carrier")
    with pytest.raises(IncompatibleSchema, match=r"newly required \['carrier'\]"):
        apply_glue(glue, RegisterSchemaVersion("V", "reg", "shipment-event", json.dumps(breaking)),
                   "us-east-1", "123456789012")
    schema = glue.get_schema(SchemaId={"RegistryName": "reg", "SchemaName": "shipment-event"})
    assert schema["LatestSchemaVersion"] == 1  # nothing registered


def test_backward_rules() -> None:
    old = {"type": "object", "additionalProperties": False, "required": ["a"],
           "properties": {"a": {"type": "string", "maxLength": 10}, "b": {"enum": ["x", "y"]},
                          "c": {"type": ["string", "null"]}}}
    assert backward_problems(old, old) == []
    looser = copy.deepcopy(old)
    looser["properties"]["d"] = {"type": "integer"}  # a new optional field: old data still valid
    looser["properties"]["a"]["maxLength"] = 20
    assert backward_problems(old, looser) == []
    narrowed = copy.deepcopy(old)
    narrowed["properties"]["a"]["maxLength"] = 5
    narrowed["properties"]["b"]["enum"] = ["x"]
    narrowed["properties"]["c"]["type"] = "string"
    del narrowed["properties"]["c"]
    problems = backward_problems(old, narrowed)
    assert any("maxLength lowered" in p for p in problems)
    assert any("enum no longer allows ['y']" in p for p in problems)
    assert any("'c' removed from a closed object" in p for p in problems)
    # the repo's v2 reads v1 data; v1 cannot read v2's new fields
    assert backward_problems(_contract("shipment-event.v1"), _contract("shipment-event.v2")) == []
    assert backward_problems(_contract("shipment-event.v2"), _contract("shipment-event.v1"))
