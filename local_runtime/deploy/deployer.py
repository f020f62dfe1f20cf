"""Create what a template declares on an AWS endpoint (moto, LocalStack), plan -> apply.

As in Chalice's deployer, the work is split in two:

* :func:`plan` is pure: it reads a :class:`~local_runtime.cloudformation.template.Template` and emits frozen instructions
  (:class:`CreateTable`, :class:`CreateTopic`, :class:`CreateQueue`, :class:`CreateBucket`, and
  :class:`Skip` for everything that is not created locally: functions, roles, mappings...). Instructions are
  ordered so that a resource comes after the ones it references (a queue after its dead-letter queue).
* :func:`apply` executes them with boto3 clients aimed at an endpoint. Every step is idempotent: re-running
  against existing resources finds them (and adds a missing stream, GSI or TTL) instead of failing.

The result is a :class:`Deployment` whose ``resources`` feed :meth:`Template.bind`, so ``!Ref`` and
``!GetAtt`` then resolve to real URLs and stream ARNs::

    tpl = load_template("template.yaml", config_env="local")
    deployment = apply(plan(tpl), endpoint_url=endpoint, region=tpl.context.region)
    tpl = tpl.bind(deployment.resources)
    tpl.functions(), tpl.event_source_mappings()

:func:`create_kafka_topics` creates the mappings' topics (and ``kafka://`` dead-letter topics) on a broker.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from local_runtime.services import aws
from local_runtime.esm.spec import MappingSpec
from local_runtime.cloudformation.template import DeployedResource, Resource, Template, TemplateError

__all__ = [
    "CreateBucket",
    "CreateQueue",
    "CreateTable",
    "CreateTopic",
    "Deployment",
    "Plan",
    "Skip",
    "apply",
    "create_kafka_topics",
    "deploy_template",
    "kafka_topics",
    "plan",
]

log = logging.getLogger(__name__)

_DEFAULT_THROUGHPUT = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}


# --------------------------------------------------------------------------------------------------
# Instructions (what the planner emits)


@dataclass(frozen=True)
class CreateTable:
    """A DynamoDB table (``AWS::DynamoDB::Table``, ``GlobalTable`` as its local replica, ``SimpleTable``)."""

    logical_id: str
    resource_type: str
    table_name: str
    key_schema: tuple[dict[str, str], ...]
    attribute_definitions: tuple[dict[str, str], ...]
    billing_mode: str = "PAY_PER_REQUEST"
    provisioned_throughput: dict[str, int] | None = None
    global_secondary_indexes: tuple[dict[str, Any], ...] = ()
    local_secondary_indexes: tuple[dict[str, Any], ...] = ()
    stream_view_type: str | None = None
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class CreateTopic:
    """An SNS topic; ``attributes`` as CreateTopic takes them (FifoTopic, ...)."""

    logical_id: str
    topic_name: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateQueue:
    """An SQS queue; ``attributes`` as CreateQueue takes them (RedrivePolicy JSON-encoded, ...)."""

    logical_id: str
    queue_name: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateBucket:
    """An S3 bucket."""

    logical_id: str
    bucket_name: str


@dataclass(frozen=True)
class Skip:
    """A resource that is not created locally, and why (functions run in-process, IAM is not enforced...)."""

    logical_id: str
    resource_type: str
    reason: str


Instruction = CreateTable | CreateTopic | CreateQueue | CreateBucket | Skip


@dataclass(frozen=True)
class Plan:
    """Ordered instructions for one stack in one region and account."""

    stack_name: str
    region: str
    account_id: str
    instructions: tuple[Instruction, ...]

    @property
    def creates(self) -> tuple[Instruction, ...]:
        """The instructions that create something."""
        return tuple(i for i in self.instructions if not isinstance(i, Skip))


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


# --------------------------------------------------------------------------------------------------
# Planner (pure)


_SKIP_REASONS = {
    "AWS::Serverless::Function": "runs in-process (local_runtime.invoke.function)",
    "AWS::Lambda::Function": "runs in-process (local_runtime.invoke.function)",
    "AWS::Lambda::EventSourceMapping": "emulated by local_runtime's mapping pollers",
    "AWS::Serverless::LayerVersion": "its ContentUri goes on sys.path",
    "AWS::Lambda::LayerVersion": "its Content goes on sys.path",
}


def _plan_table(t: Template, res: Resource) -> CreateTable:
    path = f"{res.path}.Properties"
    name = t.physical_name(res.logical_id)
    if res.type == "AWS::Serverless::SimpleTable":
        key = res.prop("PrimaryKey") or {"Name": "id", "Type": "String"}
        attr_type = {"String": "S", "Number": "N", "Binary": "B"}.get(key.get("Type", "String"))
        if attr_type is None:
            raise TemplateError(f"PrimaryKey.Type {key.get('Type')!r} is not String, Number or Binary",
                                f"{path}.PrimaryKey.Type")
        throughput = res.prop("ProvisionedThroughput")
        return CreateTable(
            res.logical_id, res.type, name,
            key_schema=({"AttributeName": key["Name"], "KeyType": "HASH"},),
            attribute_definitions=({"AttributeName": key["Name"], "AttributeType": attr_type},),
            billing_mode="PROVISIONED" if throughput else "PAY_PER_REQUEST",
            provisioned_throughput=_throughput(throughput) if throughput else None,
        )
    key_schema = res.prop("KeySchema")
    attributes = res.prop("AttributeDefinitions")
    if not key_schema or not attributes:
        raise TemplateError("a table needs KeySchema and AttributeDefinitions", path)
    billing = str(res.prop("BillingMode") or "PROVISIONED")
    throughput = None
    if res.type == "AWS::DynamoDB::GlobalTable":
        # Locally a global table is its replica in the stack's region, which CloudFormation requires to exist.
        regions = [r.get("Region") for r in res.prop("Replicas") or () if isinstance(r, dict)]
        if regions and t.context.region not in regions:
            raise TemplateError(f"Replicas {regions} must include the stack's region {t.context.region}",
                                f"{path}.Replicas")
        # Global table capacity is auto-scaling settings per replica; locally on-demand is equivalent.
        billing = "PAY_PER_REQUEST"
    elif billing == "PROVISIONED":
        throughput = _throughput(res.prop("ProvisionedThroughput"))
    gsis = tuple(_index(g, billing, with_throughput=True) for g in res.prop("GlobalSecondaryIndexes") or ())
    lsis = tuple(_index(i, billing, with_throughput=False) for i in res.prop("LocalSecondaryIndexes") or ())
    stream = res.prop("StreamSpecification") or {}
    ttl = res.prop("TimeToLiveSpecification") or {}
    ttl_enabled = ttl.get("Enabled") in (True, "true", "True")
    return CreateTable(
        res.logical_id, res.type, name,
        key_schema=tuple(key_schema),
        attribute_definitions=tuple(attributes),
        billing_mode=billing,
        provisioned_throughput=throughput,
        global_secondary_indexes=gsis,
        local_secondary_indexes=lsis,
        stream_view_type=stream.get("StreamViewType"),
        ttl_attribute=ttl.get("AttributeName") if ttl_enabled else None,
    )


def _throughput(value: Mapping[str, Any] | None) -> dict[str, int]:
    if not value:
        return dict(_DEFAULT_THROUGHPUT)
    return {k: int(value.get(k, _DEFAULT_THROUGHPUT[k])) for k in _DEFAULT_THROUGHPUT}


def _index(index: Mapping[str, Any], billing: str, *, with_throughput: bool) -> dict[str, Any]:
    out: dict[str, Any] = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
    out.setdefault("Projection", {"ProjectionType": "ALL"})
    if with_throughput and billing == "PROVISIONED":
        out["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
    return out


_QUEUE_ATTRIBUTES = (
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout", "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
    "RedrivePolicy", "RedriveAllowPolicy", "SqsManagedSseEnabled",
)


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _plan_queue(t: Template, res: Resource) -> CreateQueue:
    attrs = {k: _attribute_value(res.prop(k)) for k in _QUEUE_ATTRIBUTES if res.prop(k) is not None}
    if attrs.get("FifoQueue") == "false":
        del attrs["FifoQueue"]  # SQS rejects FifoQueue=false on standard queues
    return CreateQueue(res.logical_id, t.physical_name(res.logical_id), attrs)


def _plan_topic(t: Template, res: Resource) -> CreateTopic:
    attrs = {k: _attribute_value(res.prop(k)) for k in ("FifoTopic", "ContentBasedDeduplication", "DisplayName")
             if res.prop(k) is not None}
    if attrs.get("FifoTopic") == "false":
        del attrs["FifoTopic"]
    return CreateTopic(res.logical_id, t.physical_name(res.logical_id), attrs)


def _plan_bucket(t: Template, res: Resource) -> CreateBucket:
    return CreateBucket(res.logical_id, t.physical_name(res.logical_id))


_PLANNERS: dict[str, Callable[[Template, Resource], Instruction]] = {
    "AWS::DynamoDB::Table": _plan_table,
    "AWS::DynamoDB::GlobalTable": _plan_table,
    "AWS::Serverless::SimpleTable": _plan_table,
    "AWS::SQS::Queue": _plan_queue,
    "AWS::SNS::Topic": _plan_topic,
    "AWS::S3::Bucket": _plan_bucket,
}


def _references(value: Any) -> set[str]:
    """Logical ids a raw value refers to (Ref, GetAtt, Sub variables)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                parts = item.split(".", 1) if isinstance(item, str) else item
                if isinstance(parts, list) and parts and isinstance(parts[0], str):
                    found.add(parts[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else (item[0] if isinstance(item, list) and item else "")
                found |= {m.split(".", 1)[0] for m in _sub_names(text)}
                found |= _references(item[1:] if isinstance(item, list) else None)
            else:
                found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _sub_names(text: Any) -> list[str]:
    return re.findall(r"\$\{([^}!][^}]*)\}", text if isinstance(text, str) else "")


def plan(template: Template) -> Plan:
    """Turn a template into ordered, side-effect-free instructions."""
    creatable = {lid: r for lid, r in template.resources.items() if r.type in _PLANNERS}
    # Order: a resource after the creatable resources it references (e.g. RedrivePolicy -> DLQ ARN),
    # otherwise template order. Cycles cannot be created by CloudFormation either.
    deps = {lid: (_references(dict(r.raw_properties)) | set(r.depends_on)) & (creatable.keys() - {lid})
            for lid, r in creatable.items()}
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(lid: str) -> None:
        if lid in ordered:
            return
        if lid in visiting:
            raise TemplateError(f"circular reference between {sorted(visiting)}", f"Resources.{lid}")
        visiting.add(lid)
        for dep in sorted(deps[lid], key=list(creatable).index):
            visit(dep)
        visiting.discard(lid)
        ordered.append(lid)

    for lid in creatable:
        visit(lid)
    instructions: list[Instruction] = [_PLANNERS[creatable[lid].type](template, creatable[lid]) for lid in ordered]
    for lid, res in template.resources.items():
        if lid not in creatable:
            reason = _SKIP_REASONS.get(res.type, "not created locally")
            instructions.append(Skip(lid, res.type, reason))
    ctx = template.context
    return Plan(ctx.stack_name, ctx.region, ctx.account_id, tuple(instructions))


# --------------------------------------------------------------------------------------------------
# Executor


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class _Executor:
    """Applies instructions with one set of clients; each ``_do_*`` is idempotent."""

    def __init__(self, endpoint_url: str | None, region: str, clients: Mapping[str, Any] | None) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
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
            # DynamoDB creates one GSI per UpdateTable call.
            ddb.update_table(TableName=ins.table_name, AttributeDefinitions=list(ins.attribute_definitions),
                             GlobalSecondaryIndexUpdates=[{"Create": gsi}])
            log.info("added GSI %s to existing table %s", gsi["IndexName"], ins.table_name)

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
    executor = _Executor(endpoint_url, region, clients)
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


# --------------------------------------------------------------------------------------------------
# Kafka topics


def kafka_topics(mappings: Iterable[MappingSpec]) -> list[str]:
    """Topics the Kafka mappings read, then the ``kafka://`` on-failure topics, without duplicates."""
    topics: list[str] = []
    for spec in mappings:
        if spec.kind in ("MSK", "SelfManagedKafka"):
            topics.extend(spec.topics)
    for spec in mappings:
        if spec.on_failure is not None and spec.on_failure.kind == "kafka":
            topics.append(spec.on_failure.target)
    return list(dict.fromkeys(topics))


def create_kafka_topics(bootstrap_servers: str, topics: Iterable[str], *, partitions: int = 3,
                        replication_factor: int = 1, timeout_s: float = 30.0) -> dict[str, str]:
    """Create topics (idempotent). Returns ``{topic: "created" | "exists"}``; waits until the broker's
    metadata lists them all, so a consumer subscribing next sees its partitions."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return {}
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=replication_factor) for t in wanted],
        operation_timeout=timeout_s, request_timeout=timeout_s)
    result: dict[str, str] = {}
    for topic, future in futures.items():
        try:
            future.result(timeout=timeout_s)
            result[topic] = "created"
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            result[topic] = "exists"
    deadline = time.monotonic() + timeout_s
    while True:
        listed = admin.list_topics(timeout=max(1.0, deadline - time.monotonic())).topics
        if all(t in listed and listed[t].partitions for t in wanted):
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics {wanted} not visible in broker metadata after {timeout_s}s")
        time.sleep(0.1)
