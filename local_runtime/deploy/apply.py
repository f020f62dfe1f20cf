"""The executor: runs a :class:`~local_runtime.deploy.plan.Plan` against an endpoint (moto, LocalStack).

Every step is idempotent: re-running against existing resources finds them (and adds a missing stream,
GSI or TTL) instead of failing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from local_runtime.cloudformation import DeployedResource, Template
from local_runtime.deploy.glue import CreateRegistry, CreateSchema, RegisterSchemaVersion, apply_glue
from local_runtime.deploy.plan import CreateBucket, CreateQueue, CreateTable, CreateTopic, Instruction, Plan, plan
from local_runtime.services import aws

__all__ = ["Deployment", "apply", "deploy_template"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deployment:
    """What :func:`apply` created: physical ids and attributes per logical id."""

    stack_name: str
    region: str
    endpoint_url: str | None
    resources: dict[str, DeployedResource]

    def physical_ids(self) -> dict[str, str]:
        """``{logical id: physical id}``."""
        return {lid: r.physical_id for lid, r in self.resources.items()}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (what ``logistics deploy`` prints)."""
        return {
            "stack_name": self.stack_name,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "resources": {
                lid: {"type": r.resource_type, "physical_id": r.physical_id, "ref": r.ref, **dict(r.attributes)}
                for lid, r in self.resources.items()
            },
        }


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class _Executor:
    """Applies instructions with one set of clients; each ``_do_*`` is idempotent."""

    def __init__(self, endpoint_url: str | None, region: str, clients: Mapping[str, Any] | None,
                 account_id: str = "123456789012") -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._account_id = account_id
        self._clients: dict[str, Any] = dict(clients or {})

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = aws.client(service, self._endpoint_url, self._region)
        return self._clients[service]

    def run(self, instruction: Instruction) -> DeployedResource | None:
        handler = {
            CreateTable: self._do_table,
            CreateTopic: self._do_topic,
            CreateQueue: self._do_queue,
            CreateBucket: self._do_bucket,
            CreateRegistry: self._do_glue,
            CreateSchema: self._do_glue,
            RegisterSchemaVersion: self._do_glue,
        }.get(type(instruction))
        return handler(instruction) if handler else None  # type: ignore[operator]

    # ---- DynamoDB

    def _do_table(self, ins: CreateTable) -> DeployedResource:
        ddb = self.client("dynamodb")
        request: dict[str, Any] = {
            "TableName": ins.table_name,
            "KeySchema": list(ins.key_schema),
            "AttributeDefinitions": list(ins.attribute_definitions),
            "BillingMode": ins.billing_mode,
        }
        if ins.provisioned_throughput:
            request["ProvisionedThroughput"] = ins.provisioned_throughput
        if ins.global_secondary_indexes:
            request["GlobalSecondaryIndexes"] = list(ins.global_secondary_indexes)
        if ins.local_secondary_indexes:
            request["LocalSecondaryIndexes"] = list(ins.local_secondary_indexes)
        if ins.stream_view_type:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": ins.stream_view_type}
        try:
            ddb.create_table(**request)
        except ClientError as exc:
            if _error_code(exc) != "ResourceInUseException":
                raise
            self._converge_table(ins)
        ddb.get_waiter("table_exists").wait(TableName=ins.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        if ins.ttl_attribute:
            self._ensure_ttl(ins)
        table = ddb.describe_table(TableName=ins.table_name)["Table"]
        attrs = {"Arn": table["TableArn"]}
        if table.get("LatestStreamArn"):
            attrs["StreamArn"] = table["LatestStreamArn"]
            attrs["LatestStreamArn"] = table["LatestStreamArn"]
        if table.get("TableId"):
            attrs["TableId"] = table["TableId"]
        return DeployedResource(ins.logical_id, ins.resource_type, ins.table_name, ins.table_name, attrs)

    def _converge_table(self, ins: CreateTable) -> None:
        """The table exists: add what is missing (stream, GSIs). Key schema changes are not attempted."""
        ddb = self.client("dynamodb")
        ddb.get_waiter("table_exists").wait(TableName=ins.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        table = ddb.describe_table(TableName=ins.table_name)["Table"]
        stream = table.get("StreamSpecification") or {}
        if ins.stream_view_type and not stream.get("StreamEnabled"):
            ddb.update_table(TableName=ins.table_name,
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": ins.stream_view_type})
        existing = {g["IndexName"] for g in table.get("GlobalSecondaryIndexes") or ()}
        for gsi in ins.global_secondary_indexes:
            if gsi["IndexName"] in existing:
                continue
            # DynamoDB creates one GSI per UpdateTable call, and refuses the next (LimitExceededException)
            # while one is still being created: wait until the table and its indexes are ACTIVE again.
            ddb.update_table(TableName=ins.table_name, AttributeDefinitions=list(ins.attribute_definitions),
                             GlobalSecondaryIndexUpdates=[{"Create": gsi}])
            self._wait_until_active(ins.table_name)
            log.info("added GSI %s to existing table %s", gsi["IndexName"], ins.table_name)

    def _wait_until_active(self, table_name: str, timeout_s: float = 120.0) -> None:
        """Until the table and every index of it are ACTIVE (an index being created is not)."""
        ddb = self.client("dynamodb")
        deadline = time.monotonic() + timeout_s
        while True:
            table = ddb.describe_table(TableName=table_name)["Table"]
            indexes = table.get("GlobalSecondaryIndexes") or ()
            statuses = [table.get("TableStatus"), *(g.get("IndexStatus") for g in indexes)]
            if all(status in (None, "ACTIVE") for status in statuses):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{table_name} did not become ACTIVE within {timeout_s}s: {statuses}")
            time.sleep(0.2)

    def _ensure_ttl(self, ins: CreateTable) -> None:
        ddb = self.client("dynamodb")
        current = ddb.describe_time_to_live(TableName=ins.table_name).get("TimeToLiveDescription", {})
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and current.get("AttributeName") == (
                ins.ttl_attribute):
            return
        try:
            ddb.update_time_to_live(TableName=ins.table_name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ins.ttl_attribute})
        except ClientError as exc:
            if "already enabled" not in str(exc).lower():
                raise

    # ---- Glue Schema Registry (compatibility checked before a version is registered)

    def _do_glue(self, ins: CreateRegistry | CreateSchema | RegisterSchemaVersion) -> DeployedResource:
        return apply_glue(self.client("glue"), ins, self._region, self._account_id)

    # ---- SNS, SQS, S3

    def _do_topic(self, ins: CreateTopic) -> DeployedResource:
        arn = self.client("sns").create_topic(Name=ins.topic_name, Attributes=ins.attributes)["TopicArn"]
        return DeployedResource(ins.logical_id, "AWS::SNS::Topic", ins.topic_name, arn,
                                {"TopicArn": arn, "TopicName": ins.topic_name})

    def _do_queue(self, ins: CreateQueue) -> DeployedResource:
        sqs = self.client("sqs")
        try:
            url = sqs.create_queue(QueueName=ins.queue_name, Attributes=ins.attributes)["QueueUrl"]
        except ClientError as exc:
            if _error_code(exc) not in ("QueueAlreadyExists", "QueueNameExists",
                                        "AWS.SimpleQueueService.QueueNameExists"):
                raise
            # Exists with other attributes: keep it (idempotent re-run after a template edit) and align.
            url = sqs.get_queue_url(QueueName=ins.queue_name)["QueueUrl"]
            settable = {k: v for k, v in ins.attributes.items() if k != "FifoQueue"}
            if settable:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=settable)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return DeployedResource(ins.logical_id, "AWS::SQS::Queue", ins.queue_name, url,
                                {"Arn": arn, "QueueName": ins.queue_name, "QueueUrl": url})

    def _do_bucket(self, ins: CreateBucket) -> DeployedResource:
        s3 = self.client("s3")
        request: dict[str, Any] = {"Bucket": ins.bucket_name}
        if self._region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            request["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        try:
            s3.create_bucket(**request)
        except ClientError as exc:
            if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        name = ins.bucket_name
        return DeployedResource(ins.logical_id, "AWS::S3::Bucket", name, name, {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{self._region}.amazonaws.com",
        })


def apply(the_plan: Plan, *, endpoint_url: str | None, region: str | None = None,
          clients: Mapping[str, Any] | None = None) -> Deployment:
    """Execute a plan against ``endpoint_url`` (moto, LocalStack; ``None`` is refused: never real AWS).

    ``clients`` may inject boto3 clients by service name (``{"dynamodb": ...}``), e.g. for tests.
    """
    if endpoint_url is None and not clients:
        raise ValueError("apply() needs an endpoint_url (moto or LocalStack); it never deploys to real AWS")
    region = region or the_plan.region
    executor = _Executor(endpoint_url, region, clients, the_plan.account_id)
    resources: dict[str, DeployedResource] = {}
    started = time.perf_counter()
    for instruction in the_plan.instructions:
        created = executor.run(instruction)
        if created is not None:
            resources[created.logical_id] = created
    log.info("deployed %d resources of %s in %.2fs", len(resources), the_plan.stack_name,
             time.perf_counter() - started)
    return Deployment(the_plan.stack_name, region, endpoint_url, resources)


def deploy_template(template: Template, *, endpoint_url: str | None,
                    clients: Mapping[str, Any] | None = None) -> tuple[Deployment, Template]:
    """``plan`` + ``apply`` + ``bind`` in one call: returns the deployment and the bound template."""
    deployment = apply(plan(template), endpoint_url=endpoint_url, region=template.context.region, clients=clients)
    return deployment, template.bind(deployment.resources)

