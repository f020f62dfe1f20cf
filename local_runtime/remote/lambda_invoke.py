"""The emulator's Lambda ``Invoke`` API as the ``invoke(event) -> response`` callable the emulated mappings take,
so a Kafka mapping of the runtime (which the emulator lacks) drives a function that runs inside the emulator,
exactly as a Kafka bridge to LocalStack's free tier would.

A response with the ``X-Amz-Function-Error`` header (boto3's ``FunctionError``) is a function error: it raises
:class:`local_runtime.invoke.FunctionError` with the payload's ``errorType`` / ``errorMessage`` / ``stackTrace``,
as the local invoker does, so retries, bisection and partial batch responses behave the same.
"""

from __future__ import annotations

import json
from typing import Any

from local_runtime.invoke import FunctionError

__all__ = ["RemoteInvoke", "remote_invoke_client"]

# Lambda's synchronous invocations can run for 15 minutes; the read timeout must outlast the function's own.
_READ_TIMEOUT_S = 900


def remote_invoke_client(endpoint_url: str, region: str) -> Any:
    """A Lambda client for invocations: long read timeout, no client-side retries (a retried invoke would run the
    function twice; the mapping decides about retries)."""
    import boto3
    from botocore.config import Config

    from local_runtime.services.aws import DUMMY_CREDENTIALS, service_endpoint

    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"], region_name=region)
    config = Config(read_timeout=_READ_TIMEOUT_S, retries={"total_max_attempts": 1, "mode": "standard"},
                    max_pool_connections=32)
    return session.client("lambda", endpoint_url=service_endpoint("lambda", endpoint_url), config=config)


class RemoteInvoke:
    """``invoke(event)``: a synchronous (``RequestResponse``) invocation of ``function_name`` on the emulator."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self.client = lambda_client
        self.function_name = function_name

    def __call__(self, event: Any) -> Any:
        """The function's JSON-decoded response (None for an empty one); :class:`FunctionError` on a function
        error."""
        answer = self.client.invoke(FunctionName=self.function_name, InvocationType="RequestResponse",
                                    Payload=json.dumps(event).encode())
        raw = answer["Payload"].read()
        payload = _decode(raw)
        error = answer.get("FunctionError")
        if error:
            body = payload if isinstance(payload, dict) else {}
            raise FunctionError(str(body.get("errorType") or error),
                                str(body.get("errorMessage") or raw.decode(errors="replace")),
                                [str(line) for line in body.get("stackTrace") or ()])
        return payload


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
