"""A template's functions as real Lambda functions on an emulator (MiniStack, LocalStack): each layer of the
template published from its ``ContentUri``, each function created (or updated) from its ``CodeUri`` with the
template's handler, runtime, timeout, memory, architecture, environment and layers.

This is what ``sam deploy`` would leave in an account, minus IAM (emulators do not enforce the roles; every
function gets one placeholder role ARN) and minus what is not a function (mappings: :mod:`.lambda_mappings`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from local_runtime.cloudformation import Template
from local_runtime.cloudformation.functions import FunctionSpec
from local_runtime.cloudformation.resources import LAYER_TYPES
from local_runtime.deploy.lambda_package import PackageBuilder

__all__ = ["DeployedFunction", "deploy_functions", "publish_layers"]

log = logging.getLogger(__name__)

_ACTIVE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DeployedFunction:
    """A function created on the emulator."""

    logical_id: str
    name: str
    arn: str


def publish_layers(template: Template, lambda_client: Any, builder: PackageBuilder) -> dict[str, str]:
    """Publish every local layer of the template; returns ``{the layer's Ref value: LayerVersionArn}`` (the
    value a function's ``Layers: [!Ref SharedLayer]`` resolves to)."""
    arns: dict[str, str] = {}
    for logical_id, resource in template.resources.items():
        if resource.type not in LAYER_TYPES:
            continue
        prop = "ContentUri" if resource.type == "AWS::Serverless::LayerVersion" else "Content"
        content = resource.prop(prop)
        if not isinstance(content, str):
            log.warning("layer %s has no local %s: not published", logical_id, prop)
            continue
        runtimes = [str(r) for r in resource.prop("CompatibleRuntimes") or ()]
        architectures = [str(a) for a in resource.prop("CompatibleArchitectures") or ()]
        extra: dict[str, Any] = {}
        if runtimes:
            extra["CompatibleRuntimes"] = runtimes
        if architectures:
            extra["CompatibleArchitectures"] = architectures
        answer = lambda_client.publish_layer_version(
            LayerName=str(resource.prop("LayerName") or f"{template.context.stack_name}-{logical_id}"),
            Description=str(resource.prop("Description") or ""),
            Content={"ZipFile": builder.layer_zip(template.base_dir / content)}, **extra)
        arns[template.resource_info(logical_id).ref] = answer["LayerVersionArn"]
    return arns


def _layer_arns(template: Template, logical_id: str, published: Mapping[str, str]) -> list[str]:
    """The function's ``Layers``, each local layer replaced by the version just published."""
    resource = template.resources[logical_id]
    arns = []
    for i, raw in enumerate(resource.raw_properties.get("Layers") or ()):
        value = template.resolve(raw, f"{resource.path}.Properties.Layers[{i}]")
        if value is not None:
            arns.append(published.get(str(value), str(value)))
    return arns


def _configuration(spec: FunctionSpec, layers: list[str], role_arn: str,
                   extra_environment: Mapping[str, str]) -> dict[str, Any]:
    return {
        "FunctionName": spec.name,
        "Runtime": spec.runtime,
        "Handler": spec.handler,
        "Role": role_arn,
        "Timeout": int(spec.timeout),
        "MemorySize": spec.memory,
        "Environment": {"Variables": {**spec.environment, **extra_environment}},
        "Layers": layers,
    }


def deploy_functions(template: Template, lambda_client: Any, builder: PackageBuilder, *,
                     extra_environment: Mapping[str, str] | None = None,
                     only: frozenset[str] | None = None) -> dict[str, DeployedFunction]:
    """Create (or update in place) every function of ``template`` that has local code, then wait until each is
    Active. ``extra_environment`` is added to each function's template environment (what a deployment passes
    that the template leaves to parameters, e.g. the Kafka bootstrap servers). ``only``: these logical ids."""
    published = publish_layers(template, lambda_client, builder)
    role_arn = f"arn:aws:iam::{template.context.account_id}:role/{template.context.stack_name}-functions"
    deployed: dict[str, DeployedFunction] = {}
    for spec in template.functions():
        if only is not None and spec.logical_id not in only:
            continue
        if spec.code_uri is None:
            log.warning("%s has no local code: not deployed to the emulator", spec.logical_id)
            continue
        config = _configuration(spec, _layer_arns(template, spec.logical_id, published), role_arn,
                                extra_environment or {})
        code = builder.function_zip(spec.code_uri)
        try:
            answer = lambda_client.create_function(
                **config, Code={"ZipFile": code}, Architectures=list(spec.architectures[:1]), Publish=False)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceConflictException":
                raise
            _wait_updatable(lambda_client, spec.name)
            lambda_client.update_function_code(FunctionName=spec.name, ZipFile=code)
            _wait_updatable(lambda_client, spec.name)
            answer = lambda_client.update_function_configuration(**config)
        deployed[spec.logical_id] = DeployedFunction(spec.logical_id, spec.name, answer["FunctionArn"])
    for function in deployed.values():
        _wait_updatable(lambda_client, function.name)
    return deployed


def _wait_updatable(lambda_client: Any, name: str) -> None:
    """Wait until the function is Active and no update is in progress (as AWS requires between updates)."""
    deadline = time.monotonic() + _ACTIVE_TIMEOUT_S
    while True:
        config = lambda_client.get_function_configuration(FunctionName=name)
        state, update = config.get("State", "Active"), config.get("LastUpdateStatus", "Successful")
        if state == "Failed" or update == "Failed":
            raise RuntimeError(f"function {name}: {config.get('StateReason') or config.get('LastUpdateStatusReason')}")
        if state == "Active" and update != "InProgress":
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"function {name} still {state}/{update} after {_ACTIVE_TIMEOUT_S}s")
        time.sleep(0.2)
