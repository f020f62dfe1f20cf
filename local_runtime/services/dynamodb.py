"""Which DynamoDB the local platform uses, and the one line that says so.

In order of precedence:

1. ``AWS_ENDPOINT_URL_DYNAMODB`` (botocore's per-service variable) is set: that endpoint, nothing started.
   ``AWS_ENDPOINT_URL_DYNAMODB_STREAMS`` names the streams endpoint, else the same one.
2. ``AWS_ENDPOINT_URL`` is set (LocalStack or another emulator serving every service): DynamoDB is there too.
3. DynamoDB Local can run here (``java`` and the jar from ``make setup``): it is started.
4. Otherwise the embedded moto server serves DynamoDB too, and a warning says what to install.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Literal

from local_runtime.services.aws import service_endpoint_variable
from local_runtime.services.dynamodb_local import EmbeddedDynamoDB, cannot_run_reason

log = logging.getLogger(__name__)

Preference = Literal["auto", "local", "moto"]


@dataclass
class DynamoDBChoice:
    """The DynamoDB endpoints in use. ``endpoint_url`` None means "the AWS endpoint serves it"."""

    description: str
    endpoint_url: str | None = None
    streams_endpoint_url: str | None = None
    embedded: EmbeddedDynamoDB | None = None

    def env(self) -> dict[str, str]:
        """Per-service endpoint variables for handlers (empty when the AWS endpoint serves DynamoDB)."""
        env: dict[str, str] = {}
        if self.endpoint_url:
            env[service_endpoint_variable("dynamodb")] = self.endpoint_url
        if self.streams_endpoint_url:
            env[service_endpoint_variable("dynamodbstreams")] = self.streams_endpoint_url
        return env

    def stop(self) -> None:
        """Stop DynamoDB Local if this choice started it."""
        if self.embedded is not None:
            self.embedded.stop()


def choose_dynamodb(*, aws_is_external: bool, preference: Preference = "auto") -> DynamoDBChoice:
    """Pick (and start, when it is DynamoDB Local) the DynamoDB the platform uses; see the module docstring."""
    given = os.environ.get(service_endpoint_variable("dynamodb"))
    if given:
        streams = os.environ.get(service_endpoint_variable("dynamodbstreams")) or given
        return DynamoDBChoice(f"{given} (external)", given, streams)
    if aws_is_external:
        return DynamoDBChoice("the AWS endpoint (external)")
    if preference == "moto":
        return DynamoDBChoice("moto (as asked)")
    reason = cannot_run_reason()
    if reason is not None:
        if preference == "local":
            raise RuntimeError(reason)
        log.warning("DynamoDB Local cannot run here, using moto for DynamoDB: %s", reason)
        return DynamoDBChoice("moto (DynamoDB Local unavailable: " + reason + ")")
    embedded = EmbeddedDynamoDB()
    url = embedded.start()
    return DynamoDBChoice(f"{url} (DynamoDB Local)", url, url, embedded)
