"""Dead-letter replay through the Glue Schema Registry (EVENT_SCHEMA_REGISTRY set, registry on moto)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from aws_schema_registry.codec import decode
from chalice.test import Client

from local_runtime.services.aws import client as aws_client
from logistics.adapters.registry_serializer import RegistrySerializer
from tests.factories import shipment_event
from tests.integration.dashboard.support import CapturingPublisher, Stack, deps, load_app, poison, stack_environment

A = "m-alpha"


@pytest.fixture(scope="module")
def registry_stack(moto_endpoint: str) -> Iterator[Stack]:
    stack = f"dashreg-{uuid.uuid4().hex[:8]}"
    with stack_environment(moto_endpoint, stack, template_parameters={"KafkaSchemaRegistry": "Enabled"},
                           EVENT_SCHEMA_REGISTRY=f"{stack}-events") as deployed:
        deployed.issue_key(A)
        yield deployed


@pytest.fixture(scope="module")
def client(registry_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Client:
    return Client(load_app().app, project_dir=str(tmp_path_factory.mktemp("chalice")))


def _serializer(stack: Stack) -> RegistrySerializer:
    return RegistrySerializer(aws_client("glue", stack.endpoint_url, "us-east-1"), stack.env["EVENT_SCHEMA_REGISTRY"])


def test_the_replay_publisher_follows_the_environment(registry_stack: Stack) -> None:
    from chalicelib.replay import KafkaPublisher, RegistryPublisher, publisher_from_env

    assert isinstance(publisher_from_env(""), RegistryPublisher)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVENT_SCHEMA_REGISTRY", "")
        assert isinstance(publisher_from_env(""), KafkaPublisher)


def test_a_valid_event_is_replayed_framed_with_its_registry_version(registry_stack: Stack) -> None:
    from chalicelib.replay import RegistryPublisher

    inner = CapturingPublisher()
    publisher = RegistryPublisher(inner, _serializer(registry_stack))
    event: dict[str, Any] = shipment_event(merchant_id=A)
    raw = json.dumps(event).encode()
    publisher.publish("shipment-events", raw, b"k", {})
    publisher.publish("shipment-events", inner.published[0]["value"], b"k", {})  # already framed: framed again
    glue = aws_client("glue", registry_stack.endpoint_url, "us-east-1")
    v1 = glue.get_schema_version(SchemaId={"RegistryName": registry_stack.env["EVENT_SCHEMA_REGISTRY"],
                                           "SchemaName": "shipment-event"},
                                 SchemaVersionNumber={"VersionNumber": 1})["SchemaVersionId"]
    for sent in inner.published:
        data, version_id = decode(sent["value"])
        assert json.loads(data) == event and str(version_id) == v1


def test_an_event_the_registry_refuses_is_not_replayed(client: Client, registry_stack: Stack) -> None:
    from chalicelib.replay import RegistryPublisher

    registry_stack.ingest([poison(A)])
    page = registry_stack.dynamodb.query(
        TableName=registry_stack.env["DEAD_LETTER_TABLE"], KeyConditionExpression="merchant_id = :m",
        ExpressionAttributeValues={":m": {"S": A}})
    key = max(i["dlq_key"]["S"] for i in page["Items"])
    inner = CapturingPublisher()
    with deps().overridden(publisher=RegistryPublisher(inner, _serializer(registry_stack))):
        response = client.http.post(f"/api/v1/dead-letters/{quote(key, safe='')}/replay",
                                    headers={"Authorization": f"Bearer {registry_stack.keys[A]}",
                                             "Content-Type": "application/json"})
    assert response.status_code == 422, response.body
    body = json.loads(response.body)
    assert "refused_by_registry" in json.dumps(body) and "status" in json.dumps(body)
    assert inner.published == []
    item = registry_stack.dynamodb.get_item(TableName=registry_stack.env["DEAD_LETTER_TABLE"],
                                            Key={"merchant_id": {"S": A}, "dlq_key": {"S": key}})["Item"]
    assert item["state"]["S"] == "replay_failed"
