"""local_runtime.deploy: the pure planner, and the executor against the session's moto server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runtime.cloudformation import TemplateError, load_template
from local_runtime.deploy import (
    CreateBucket,
    CreateQueue,
    CreateTable,
    CreateTopic,
    Skip,
    apply,
    deploy_template,
    plan,
)
from local_runtime.services import aws
from local_runtime.services.dynamodb import choose_dynamodb

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
STREAM_TEMPLATE = FIXTURES / "dynamodb_stream" / "template.yaml"
GENERIC = FIXTURES / "generic" / "template.yaml"
REPO_TEMPLATE = Path(__file__).resolve().parents[4] / "template.yaml"


# ------------------------------------------------------------------------------------ planner (pure)


def test_plan_orders_dependencies_first_and_skips_what_runs_locally() -> None:
    p = plan(load_template(GENERIC, parameter_overrides={"ApiKey": "k"}))
    creates = [i.logical_id for i in p.creates]
    assert creates.index("WorkDeadLetterQueue") < creates.index("WorkQueue")  # RedrivePolicy needs the DLQ
    assert set(creates) == {
        "OrdersTable",
        "SessionsTable",
        "WorkDeadLetterQueue",
        "WorkQueue",
        "AlertsTopic",
        "ArtifactsBucket",
    }
    skipped = {i.logical_id: i.reason for i in p.instructions if isinstance(i, Skip)}
    assert "worker processes" in skipped["ApiFunction"] and "sys.path" in skipped["PlainLayer"]
    assert "ProdAuditTable" not in creates and "ProdAuditTable" not in skipped  # its condition is false
    by_id = {i.logical_id: i for i in p.instructions}
    assert by_id["ArtifactsBucket"] == CreateBucket("ArtifactsBucket", "local-artifactsbucket")
    assert by_id["AlertsTopic"] == CreateTopic("AlertsTopic", "local-alerts", {})
    queue = by_id["WorkQueue"]
    assert isinstance(queue, CreateQueue) and queue.attributes["VisibilityTimeout"] == "60"
    assert (
        '"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:local-WorkDeadLetterQueue"'
        in (queue.attributes["RedrivePolicy"])
    )
    simple = by_id["SessionsTable"]
    assert isinstance(simple, CreateTable) and simple.key_schema == (
        {"AttributeName": "session_id", "KeyType": "HASH"},
    )


def test_plan_table_with_stream_gsis_lsi_ttl_and_provisioned_defaults() -> None:
    by_id = {i.logical_id: i for i in plan(load_template(STREAM_TEMPLATE, stack_name="st")).creates}
    items = by_id["ItemsTable"]
    assert isinstance(items, CreateTable)
    assert items.table_name == "st-items" and items.billing_mode == "PAY_PER_REQUEST"
    assert items.stream_view_type == "NEW_AND_OLD_IMAGES" and items.ttl_attribute == "expires_at"
    assert [g["IndexName"] for g in items.global_secondary_indexes] == ["by_status", "by_updated"]
    assert [i["IndexName"] for i in items.local_secondary_indexes] == ["by_pk_updated"]
    provisioned = by_id["ProvisionedTable"]
    assert isinstance(provisioned, CreateTable) and provisioned.billing_mode == "PROVISIONED"
    assert provisioned.provisioned_throughput == {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2}
    assert provisioned.global_secondary_indexes[0]["ProvisionedThroughput"] == {
        "ReadCapacityUnits": 5,
        "WriteCapacityUnits": 5,
    }


def test_plan_global_table_twin_is_a_local_table_with_its_stream() -> None:
    t = load_template(STREAM_TEMPLATE, parameter_overrides={"GlobalTables": "true"})
    tables = [i for i in plan(t).creates if isinstance(i, CreateTable)]
    twin = next(i for i in tables if i.logical_id == "ItemsTableGlobal")
    assert twin.resource_type == "AWS::DynamoDB::GlobalTable"
    assert (twin.table_name, twin.stream_view_type, twin.ttl_attribute) == (
        "local-items",
        "NEW_AND_OLD_IMAGES",
        "expires_at",
    )
    assert "ItemsTable" not in {i.logical_id for i in tables}


def test_plan_global_table_must_have_a_replica_in_the_stack_region(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n"
        "  T:\n"
        "    Type: AWS::DynamoDB::GlobalTable\n"
        "    Properties:\n"
        "      Replicas: [{Region: eu-west-1}, {Region: eu-central-1}]\n"
        "      StreamSpecification: {StreamViewType: NEW_IMAGE}\n"
        "      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]\n"
        "      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"Resources\.T\.Properties\.Replicas: .* must include .* us-east-1"):
        plan(load_template(template, region="us-east-1"))
    assert plan(load_template(template, region="eu-west-1")).creates[0].table_name == "local-T"


def test_apply_refuses_to_run_without_an_endpoint() -> None:
    with pytest.raises(ValueError, match="never deploys to real AWS"):
        apply(plan(load_template(STREAM_TEMPLATE)), endpoint_url=None)


# ------------------------------------------------------------------------------------ executor (moto)


def test_deploy_creates_table_with_stream_gsis_lsi_ttl_and_is_idempotent(moto_endpoint: str, unique_name: str) -> None:
    template = load_template(STREAM_TEMPLATE, stack_name=unique_name, endpoint_url=moto_endpoint)
    deployment, bound = deploy_template(template, endpoint_url=moto_endpoint)
    ddb = aws.client("dynamodb", moto_endpoint, "us-east-1")
    table = ddb.describe_table(TableName=f"{unique_name}-items")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} == {"by_status", "by_updated"}
    assert {i["IndexName"] for i in table["LocalSecondaryIndexes"]} == {"by_pk_updated"}
    ttl = ddb.describe_time_to_live(TableName=f"{unique_name}-items")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    items = deployment.resources["ItemsTable"]
    assert items.physical_id == items.ref == f"{unique_name}-items"
    assert items.attributes["StreamArn"] == table["LatestStreamArn"]
    assert {m.name: m.stream_arn for m in bound.event_source_mappings()} == {
        "Changes": table["LatestStreamArn"],
        "AuditMapping": table["LatestStreamArn"],
    }
    assert deployment.resources["FailureQueue"].ref.startswith(moto_endpoint)

    again, _ = deploy_template(template, endpoint_url=moto_endpoint)
    assert again.physical_ids() == deployment.physical_ids()
    assert again.resources["ItemsTable"].attributes["StreamArn"] == items.attributes["StreamArn"]
    assert again.to_dict()["resources"]["ItemsTable"]["StreamArn"] == items.attributes["StreamArn"]


@pytest.fixture
def own_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A DynamoDB of this test's own: on a DynamoDB Local holding many TTL tables (the suite's), an index added by
    UpdateTable can stay CREATING for minutes (docs/LOCAL_DYNAMODB.md)."""
    saved = {name: os.environ.get(name) for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS")}
    for name in saved:
        monkeypatch.delenv(name, raising=False)
    choice = choose_dynamodb(aws_is_external=False)
    if choice.embedded is None:  # no DynamoDB Local here: the suite's endpoints (or moto) as they were
        for name, value in saved.items():
            if value is not None:
                monkeypatch.setenv(name, value)
        yield
        return
    for name, value in choice.env().items():
        monkeypatch.setenv(name, value)
    try:
        yield
    finally:
        choice.stop()


@pytest.mark.usefixtures("own_dynamodb")
def test_deploy_converges_an_existing_table(moto_endpoint: str, unique_name: str) -> None:
    ddb = aws.client("dynamodb", moto_endpoint, "us-east-1")
    ddb.create_table(
        TableName=f"{unique_name}-items",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
    deployment, _ = deploy_template(load_template(STREAM_TEMPLATE, stack_name=unique_name), endpoint_url=moto_endpoint)
    table = ddb.describe_table(TableName=f"{unique_name}-items")["Table"]
    assert table["StreamSpecification"]["StreamEnabled"] is True
    assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} == {"by_status", "by_updated"}
    assert deployment.resources["ItemsTable"].attributes["StreamArn"] == table["LatestStreamArn"]


def test_deploy_global_table_twin(moto_endpoint: str, unique_name: str) -> None:
    t = load_template(STREAM_TEMPLATE, stack_name=unique_name, parameter_overrides={"GlobalTables": "true"})
    deployment, bound = deploy_template(t, endpoint_url=moto_endpoint)
    twin = deployment.resources["ItemsTableGlobal"]
    assert twin.resource_type == "AWS::DynamoDB::GlobalTable" and "StreamArn" in twin.attributes
    (changes,) = bound.event_source_mappings()
    assert changes.stream_arn == twin.attributes["StreamArn"]


def test_deploy_queues_topics_buckets_and_bind(moto_endpoint: str, unique_name: str) -> None:
    t = load_template(GENERIC, stack_name=unique_name, parameter_overrides={"ApiKey": "k"})
    deployment, bound = deploy_template(t, endpoint_url=moto_endpoint)
    res = deployment.resources
    sqs = aws.client("sqs", moto_endpoint, "us-east-1")
    attrs = sqs.get_queue_attributes(QueueUrl=res["WorkQueue"].ref, AttributeNames=["All"])["Attributes"]
    assert res["WorkDeadLetterQueue"].attributes["Arn"] in attrs["RedrivePolicy"]
    assert attrs["VisibilityTimeout"] == "60"
    assert res["AlertsTopic"].ref == f"arn:aws:sns:us-east-1:123456789012:{unique_name}-alerts"
    assert res["ArtifactsBucket"].physical_id == f"{unique_name}-artifactsbucket"
    aws.client("s3", moto_endpoint, "us-east-1").head_bucket(Bucket=res["ArtifactsBucket"].physical_id)
    env = bound.function("ApiFunction").environment
    assert env["QUEUE_URL"] == res["WorkQueue"].ref
    assert t.bind(deployment).function("ApiFunction").environment == env  # a Deployment binds directly
    assert env["TABLE"] == f"{unique_name}-orders"
    # re-running finds everything
    again, _ = deploy_template(t, endpoint_url=moto_endpoint)
    assert again.physical_ids() == deployment.physical_ids()


def test_deploy_repo_template(moto_endpoint: str, unique_name: str) -> None:
    if not REPO_TEMPLATE.is_file():
        pytest.skip("template.yaml not written yet")
    t = load_template(REPO_TEMPLATE, config_env="local", stack_name=unique_name, region="us-east-1",
                      parameter_overrides={"KafkaSchemaRegistry": "Disabled"})  # no registry left on moto
    deployment, bound = deploy_template(t, endpoint_url=moto_endpoint)
    tables = {r.logical_id for r in deployment.resources.values() if r.resource_type == "AWS::DynamoDB::Table"}
    assert {"ShipmentsTable", "TimelineTable", "DeadLetterTable"} <= tables
    stream = next(m for m in bound.event_source_mappings() if m.kind == "DynamoDB")
    assert stream.stream_arn == deployment.resources["ShipmentsTable"].attributes["StreamArn"]
    assert bound.outputs()["ShipmentsStreamArn"] == stream.stream_arn
