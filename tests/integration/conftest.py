"""Integration fixtures: the repository's template deployed onto the embedded AWS, and its functions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_runtime.cloudformation import load_template
from local_runtime.deploy import deploy_template
from local_runtime.invoke import Invoker
from local_runtime.services.aws import aws_env, service_endpoint

ROOT = Path(__file__).resolve().parents[2]
PLAIN_JSON = {"KafkaSchemaRegistry": "Disabled"}  # these stacks' records are plain JSON


class Stack:
    """The template deployed under a unique stack name, with clients and an in-process invoker."""

    def __init__(self, endpoint: str, name: str) -> None:
        template = load_template(ROOT / "template.yaml", config_env="local", stack_name=name, endpoint_url=endpoint,
                                 parameter_overrides=PLAIN_JSON)
        self.deployment, self.template = deploy_template(template, endpoint_url=endpoint)
        self.endpoint = endpoint
        self.region = self.template.context.region
        self.env = aws_env(endpoint, self.region)
        self.invoker = Invoker(self.template.functions(), region=self.region, base_env=self.env)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=service_endpoint(service, self.endpoint), region_name=self.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def table(self, logical_id: str) -> Any:
        resource = boto3.resource("dynamodb", endpoint_url=service_endpoint("dynamodb", self.endpoint),
                                  region_name=self.region,
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
        return resource.Table(self.template.physical_name(logical_id))

    def physical(self, logical_id: str) -> str:
        return self.template.physical_name(logical_id)

    def attribute(self, logical_id: str, name: str) -> str:
        return self.deployment.resources[logical_id].attributes[name]


@pytest.fixture
def stack(moto_endpoint: str, unique_name: str) -> Iterator[Stack]:
    stack = Stack(moto_endpoint, unique_name[:40])
    yield stack
    stack.invoker.close()

