"""What ``!Ref`` and ``!GetAtt`` return: the resources deploy created, else a prediction from the naming
rules :mod:`local_runtime.deploy` creates them with (``<stack>-<LogicalId>``, AWS's ARN formats)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local_runtime.cloudformation.values import truthy

__all__ = [
    "DEFAULT_REGION",
    "DEFAULT_STACK_NAME",
    "FUNCTION_TYPES",
    "IMPLICIT_SAM",
    "LAYER_TYPES",
    "MOTO_ACCOUNT_ID",
    "MSK_TYPES",
    "NAME_PROPERTY",
    "TABLE_TYPES",
    "DeployedResource",
    "ResolverContext",
    "generated_name",
    "predict_resource",
]

DEFAULT_REGION = "us-east-1"
MOTO_ACCOUNT_ID = "123456789012"  # moto's default account; LocalStack uses 000000000000
DEFAULT_STACK_NAME = "local"

@dataclass(frozen=True)
class DeployedResource:
    """A created resource: what ``!Ref`` returns and the ``!GetAtt`` attributes known for it."""

    logical_id: str
    resource_type: str
    physical_id: str
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolverContext:
    """Pseudo parameters plus the resources deploy created (``deployed``); anything not deployed is
    predicted from the naming rules :mod:`local_runtime.deploy` uses."""

    region: str = DEFAULT_REGION
    account_id: str = MOTO_ACCOUNT_ID
    stack_name: str = DEFAULT_STACK_NAME
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"
    endpoint_url: str | None = None  # lets us predict SQS queue URLs before deploy
    deployed: Mapping[str, DeployedResource] = field(default_factory=dict)


# The property holding a resource's declared physical name, per type.
NAME_PROPERTY: dict[str, str] = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Kinesis::Stream": "Name",
    "AWS::MSK::Cluster": "ClusterName",
    "AWS::MSK::ServerlessCluster": "ClusterName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SSM::Parameter": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Glue::Registry": "Name",
    "AWS::Glue::Schema": "Name",
    "AWS::Serverless::StateMachine": "Name",
}

TABLE_TYPES = frozenset({"AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", "AWS::Serverless::SimpleTable"})
FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
LAYER_TYPES = frozenset({"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"})
MSK_TYPES = frozenset({"AWS::MSK::Cluster", "AWS::MSK::ServerlessCluster"})
# SAM-generated resources that templates may reference without declaring them.
IMPLICIT_SAM = re.compile(r"ServerlessRestApi|ServerlessHttpApi|ServerlessDeploymentBucket|.+Role")


def generated_name(logical_id: str, resource_type: str, stack_name: str, properties: Mapping[str, Any]) -> str:
    """The physical name deploy gives a resource that declares none: ``<stack>-<LogicalId>``.

    CloudFormation appends a random suffix; locally a stable name is more useful (re-runs find the same
    resources). Per-service rules: bucket names are lower case and at most 63 characters, FIFO queues and
    topics end in ``.fifo``.
    """
    name = f"{stack_name}-{logical_id}"
    if resource_type == "AWS::S3::Bucket":
        return re.sub(r"[^a-z0-9.-]", "-", name.lower())[:63].strip("-.")
    fifo = truthy(properties.get("FifoQueue")) or truthy(properties.get("FifoTopic"))
    if resource_type == "AWS::SQS::Queue":
        return name[: 80 - 5] + ".fifo" if fifo else name[:80]
    if resource_type == "AWS::SNS::Topic":
        return name[: 256 - 5] + ".fifo" if fifo else name[:256]
    if resource_type in FUNCTION_TYPES:
        return name[:64]
    return name[:255]


def predict_resource(logical_id: str, resource_type: str, name: str, ctx: ResolverContext) -> DeployedResource:
    """What Ref / GetAtt return for a resource named ``name`` before it exists (ARNs follow AWS's
    formats in ``ctx``'s region and account). Attributes that AWS invents at creation time (a stream
    label) are absent: asking for them raises :class:`UnresolvedAttributeError`."""
    p, r, a = ctx.partition, ctx.region, ctx.account_id
    attrs: dict[str, str] = {}
    ref = name
    if resource_type in TABLE_TYPES:
        attrs["Arn"] = f"arn:{p}:dynamodb:{r}:{a}:table/{name}"
    elif resource_type == "AWS::SNS::Topic":
        ref = f"arn:{p}:sns:{r}:{a}:{name}"
        attrs |= {"TopicArn": ref, "TopicName": name}
    elif resource_type == "AWS::SQS::Queue":
        base = ctx.endpoint_url.rstrip("/") if ctx.endpoint_url else f"https://sqs.{r}.{ctx.url_suffix}"
        ref = f"{base}/{a}/{name}"
        attrs |= {"Arn": f"arn:{p}:sqs:{r}:{a}:{name}", "QueueName": name, "QueueUrl": ref}
    elif resource_type == "AWS::S3::Bucket":
        attrs |= {
            "Arn": f"arn:{p}:s3:::{name}",
            "DomainName": f"{name}.s3.{ctx.url_suffix}",
            "RegionalDomainName": f"{name}.s3.{r}.{ctx.url_suffix}",
            "WebsiteURL": f"http://{name}.s3-website-{r}.{ctx.url_suffix}",
        }
    elif resource_type in FUNCTION_TYPES:
        attrs["Arn"] = f"arn:{p}:lambda:{r}:{a}:function:{name}"
    elif resource_type in LAYER_TYPES:
        ref = f"arn:{p}:lambda:{r}:{a}:layer:{name}:1"
    elif resource_type == "AWS::IAM::Role":
        role_id = f"AROA{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:17].upper()}"
        attrs |= {"Arn": f"arn:{p}:iam::{a}:role/{name}", "RoleId": role_id}
    elif resource_type in MSK_TYPES:
        ref = f"arn:{p}:kafka:{r}:{a}:cluster/{name}/{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
        attrs["Arn"] = ref
    elif resource_type == "AWS::Glue::Registry":
        ref = f"arn:{p}:glue:{r}:{a}:registry/{name}"
        attrs["Arn"] = ref
    elif resource_type == "AWS::Lambda::EventSourceMapping":
        ref = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.stack_name}/{logical_id}"))
        attrs["Id"] = ref
    elif resource_type in ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine",
                           "AWS::SecretsManager::Secret"):
        service = "states" if "StateMachine" in resource_type else "secretsmanager"
        kind = "stateMachine" if service == "states" else "secret"
        ref = f"arn:{p}:{service}:{r}:{a}:{kind}:{name}"
        attrs |= {"Arn": ref, "Name": name}
    else:
        service = resource_type.split("::")[1].lower() if resource_type.count("::") >= 2 else "unknown"
        attrs["Arn"] = f"arn:{p}:{service}:{r}:{a}:{name}"
    return DeployedResource(logical_id, resource_type, name, ref, attrs)

