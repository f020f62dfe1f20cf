"""The planner: a template in, frozen instructions out, no side effect.

Instructions come in dependency order (a queue after its dead-letter queue); what is not created locally
(functions, roles, mappings...) becomes a :class:`Skip` saying why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local_runtime.cloudformation import Resource, Template, TemplateError
from local_runtime.deploy.glue import CreateRegistry, CreateSchema, RegisterSchemaVersion, plan_glue

__all__ = ["CreateBucket", "CreateQueue", "CreateTable", "CreateTopic", "Instruction", "Plan", "Skip", "plan"]

_DEFAULT_THROUGHPUT = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}


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
    """A resource that is not created locally, and why (functions run in local workers, IAM is not enforced...)."""

    logical_id: str
    resource_type: str
    reason: str


Instruction = CreateTable | CreateTopic | CreateQueue | CreateBucket | CreateRegistry | CreateSchema | (
    RegisterSchemaVersion) | Skip


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


_SKIP_REASONS = {
    "AWS::Serverless::Function": "runs in local worker processes (local_runtime.invoke)",
    "AWS::Lambda::Function": "runs in local worker processes (local_runtime.invoke)",
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
    "AWS::Glue::Registry": plan_glue,
    "AWS::Glue::Schema": plan_glue,
    "AWS::Glue::SchemaVersion": plan_glue,
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

