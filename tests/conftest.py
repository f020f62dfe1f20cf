"""Suite-wide fixtures. Each starts the real service through local_runtime, once per test session.

* ``moto_endpoint`` - URL of a moto server (or ``AWS_ENDPOINT_URL``'s endpoint, e.g. LocalStack).
* ``kafka_bootstrap`` - ``host:port`` of a Tansu broker (or ``KAFKA_BOOTSTRAP_SERVERS``'s broker).
* ``dynamodb_endpoint`` (autouse) - DynamoDB Local for the whole session, published through botocore's
  per-service variables ``AWS_ENDPOINT_URL_DYNAMODB`` / ``_STREAMS``, so every DynamoDB client of the suite
  (handlers, the runtime, the tests' own) reaches Amazon's emulator while SNS, SQS and S3 stay on moto.
  Without Java it says why and leaves DynamoDB on moto.

Tests share these servers, so each test names its own tables, stacks, topics and groups uniquely
(``unique_name``).
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator

import pytest

from local_runtime.services.aws import EmbeddedAws, environ_overlay
from local_runtime.services.broker import EmbeddedKafka
from local_runtime.services.dynamodb import choose_dynamodb


@pytest.fixture(scope="session", autouse=True)
def dynamodb_endpoint() -> Iterator[str | None]:
    """DynamoDB Local (or the given ``AWS_ENDPOINT_URL_DYNAMODB``) for every test; None when moto serves it."""
    choice = choose_dynamodb(aws_is_external=bool(os.environ.get("AWS_ENDPOINT_URL")))
    if choice.endpoint_url is None:
        warnings.warn(f"DynamoDB: {choice.description}", stacklevel=1)
    try:
        with environ_overlay(choice.env()):
            yield choice.endpoint_url
    finally:
        choice.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Endpoint URL of the session's embedded AWS (moto subprocess on 127.0.0.1)."""
    with EmbeddedAws() as aws:
        yield aws.endpoint_url


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of the session's embedded Kafka (Tansu, in-memory storage)."""
    with EmbeddedKafka() as kafka:
        yield kafka.bootstrap_servers


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A short name unique to this test (for stacks, topics, consumer groups...)."""
    base = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:30].strip("-")
    return f"{base}-{uuid.uuid4().hex[:6]}"
