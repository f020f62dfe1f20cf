"""Fixtures of the LocalStack-compatible suite (``make test-localstack``, marker ``localstack``).

* ``emulator_endpoint`` - ``AWS_ENDPOINT_URL`` when set (a real LocalStack), else a MiniStack started from the
  tool environment ``.tools/ministack`` on a free loopback port for the session, stopped (with its function
  workers) at the end.
* ``emulator_python`` - the interpreter MiniStack runs functions with (dependencies are installed for it);
  None for a real LocalStack, whose Lambda image gets wheels for the template's runtime and architecture.
* ``glue_endpoint`` - where the template's Glue Schema Registry goes: the emulator when it serves Glue's
  registry API, else a moto server for Glue alone (``AWS_ENDPOINT_URL_GLUE``; MiniStack 1.5.33 has no registry,
  docs/LOCALSTACK.md). Only the deploy uses it: the suite's stacks turn the Kafka mapping's schema validation off.
* ``dynamodb_endpoint`` - overrides the suite-wide DynamoDB Local: here DynamoDB must be the emulator's own, since
  the emulator's poller reads its own tables' streams.

Tests marked ``localstack`` are deselected unless ``-m`` names the marker (``make test-localstack`` does), so
the default ``make test`` run neither needs nor starts an emulator.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from local_runtime.services import aws
from local_runtime.services.aws import EmbeddedAws, environ_overlay, service_endpoint_variable
from local_runtime.services.ministack import MiniStack, default_executable

ROOT = Path(__file__).resolve().parents[2]
MARKER = "localstack"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if MARKER in (config.getoption("markexpr") or ""):
        return
    deselected = [item for item in items if item.get_closest_marker(MARKER)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(MARKER)]


@pytest.fixture(scope="session", autouse=True)
def dynamodb_endpoint() -> Iterator[None]:
    """No separate DynamoDB: the emulator serves it (and its streams) to the tests, the runtime and the
    functions alike."""
    with environ_overlay({service_endpoint_variable("dynamodb"): None,
                          service_endpoint_variable("dynamodbstreams"): None}):
        yield None


@pytest.fixture(scope="session")
def emulator_endpoint() -> Iterator[str]:
    """The LocalStack-compatible endpoint of the session."""
    given = os.environ.get("AWS_ENDPOINT_URL")
    if given:
        yield given
        return
    with MiniStack(default_executable(ROOT)) as emulator:
        yield emulator.endpoint_url


def serves_glue_registry(endpoint_url: str) -> bool:
    """True when the endpoint answers Glue's ListRegistries."""
    try:
        aws.client("glue", endpoint_url).list_registries()
    except ClientError:
        return False
    return True


@pytest.fixture(scope="session")
def glue_endpoint(emulator_endpoint: str) -> Iterator[str]:
    """The Glue Schema Registry's endpoint for the session (published as ``AWS_ENDPOINT_URL_GLUE`` when it is
    not the emulator)."""
    if serves_glue_registry(emulator_endpoint):
        yield emulator_endpoint
        return
    with environ_overlay({"AWS_ENDPOINT_URL": None}):
        moto = EmbeddedAws()
    with moto, environ_overlay({service_endpoint_variable("glue"): moto.endpoint_url}):
        yield moto.endpoint_url


@pytest.fixture(scope="session")
def emulator_python() -> str | None:
    if os.environ.get("AWS_ENDPOINT_URL"):
        return None
    return str(ROOT / ".tools" / "ministack" / "bin" / "python")
