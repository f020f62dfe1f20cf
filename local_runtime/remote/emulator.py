"""A template's functions deployed to a LocalStack-compatible emulator, and how the platform reaches them.

:func:`deploy_to_emulator` creates every function with local code as a real Lambda function there (layers
published from the template, environment from the template) and every DynamoDB Streams trigger as a real
event-source mapping, so the emulator's poller invokes the function. What the emulator lacks (Kafka triggers,
schedules) the platform keeps emulating, invoking through :meth:`EmulatorFunctions.invoke_function`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_runtime.cloudformation import Template
from local_runtime.deploy.lambda_functions import DeployedFunction, deploy_functions
from local_runtime.deploy.lambda_mappings import EmulatorMapping, create_stream_mapping
from local_runtime.deploy.lambda_package import HostTarget, LambdaTarget, PackageBuilder, PipTarget
from local_runtime.esm.spec import MappingSpec
from local_runtime.remote.lambda_invoke import RemoteInvoke, remote_invoke_client
from local_runtime.services import aws

__all__ = ["EmulatorFunctions", "deploy_to_emulator", "package_target"]

log = logging.getLogger(__name__)


def package_target(template: Template, python: str | None) -> PipTarget:
    """Where dependencies are installed for: ``python`` when the emulator runs functions with an interpreter of
    this machine (MiniStack), else Lambda's image for the template's first function runtime (LocalStack)."""
    if python:
        return HostTarget(python)
    specs = [s for s in template.functions() if s.runtime.startswith("python")]
    runtime = specs[0].runtime if specs else "python3.12"
    architecture = specs[0].architectures[0] if specs and specs[0].architectures else "x86_64"
    return LambdaTarget(runtime, architecture)


@dataclass
class EmulatorFunctions:
    """What :func:`deploy_to_emulator` created, and clients to use it."""

    endpoint_url: str
    region: str
    functions: dict[str, DeployedFunction]
    stream_mappings: dict[str, str] = field(default_factory=dict)  # mapping name -> UUID on the emulator
    lambda_client: Any = None
    invoke_client: Any = None

    def invoke_function(self, logical_id: str) -> RemoteInvoke:
        """``invoke(event)`` for a function deployed to the emulator."""
        return RemoteInvoke(self.invoke_client, self.functions[logical_id].name)

    def invoke_by_name(self, logical_id: str, event: Any, *, request_id: str | None = None) -> Any:
        """``Invoker.invoke``'s signature, for callers that name the function (schedules)."""
        return self.invoke_function(logical_id)(event)

    def stream_mapping(self, spec: MappingSpec) -> EmulatorMapping | None:
        """The emulator's mapping of ``spec`` (None when it was not created there)."""
        uuid = self.stream_mappings.get(spec.name)
        return EmulatorMapping(spec, uuid, self.lambda_client) if uuid else None


def deploy_to_emulator(template: Template, endpoint_url: str, *, project_root: str | Path | None = None,
                       python: str | None = None, extra_environment: Mapping[str, str] | None = None,
                       enable_mappings: bool = False) -> EmulatorFunctions:
    """Deploy ``template``'s functions and DynamoDB Streams mappings to the emulator at ``endpoint_url`` (the
    template must already be bound to its deployed resources, so stream and queue ARNs are resolved).

    ``python``: the interpreter the emulator runs functions with, when it is one of this machine (MiniStack);
    None builds dependencies for Lambda's image instead (LocalStack). Mappings are created disabled unless
    ``enable_mappings`` (a plain deploy: enabled as the template says); :meth:`EmulatorFunctions.stream_mapping`
    gives the handle that starts and stops them.
    """
    region = template.context.region
    lambda_client = aws.client("lambda", endpoint_url, region)
    builder = PackageBuilder(project_root or template.base_dir, package_target(template, python))
    functions = deploy_functions(template, lambda_client, builder, extra_environment=extra_environment)
    mappings: dict[str, str] = {}
    for spec in template.event_source_mappings():
        if spec.kind != "DynamoDB" or spec.function_logical_id not in functions:
            continue
        # The platform creates them disabled and starts them with its own mappings (EmulatorMapping.start).
        mappings[spec.name] = create_stream_mapping(spec, functions[spec.function_logical_id].name, lambda_client,
                                                    enabled=None if enable_mappings else False)
    log.info("deployed %d functions and %d stream mappings to %s", len(functions), len(mappings), endpoint_url)
    return EmulatorFunctions(endpoint_url, region, functions, mappings, lambda_client,
                             remote_invoke_client(endpoint_url, region))
