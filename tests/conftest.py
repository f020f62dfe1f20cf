"""Suite-wide fixtures. Each starts the real service through local_runtime, once per test session.

* ``moto_endpoint`` - URL of a moto server (or ``AWS_ENDPOINT_URL``'s endpoint, e.g. LocalStack).
* ``kafka_bootstrap`` - ``host:port`` of a Tansu broker (or ``KAFKA_BOOTSTRAP_SERVERS``'s broker).

Tests share these servers, so each test names its own tables, stacks, topics and groups uniquely
(``unique_name``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from local_runtime.services.aws import EmbeddedAws
from local_runtime.services.broker import EmbeddedKafka


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
