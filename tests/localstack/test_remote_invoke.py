"""The emulator's Invoke API as a mapping's ``invoke(event)``: responses come back decoded, a function error
raises FunctionError with the payload's type and message (what the Kafka mapping retries and bisects on)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest

from local_runtime.invoke import FunctionError
from local_runtime.remote.lambda_invoke import RemoteInvoke, remote_invoke_client
from local_runtime.services import aws

pytestmark = pytest.mark.localstack

HANDLER = '''
def handler(event, context):
    if event.get("fail"):
        raise ValueError("bad record " + str(event["fail"]))
    return {"batchItemFailures": [{"itemIdentifier": i} for i in event.get("failed", [])]}
'''


@pytest.fixture(scope="module")
def function_name(emulator_endpoint: str) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    name = f"remote-invoke-{uuid.uuid4().hex[:6]}"
    client = aws.client("lambda", emulator_endpoint, "us-east-1")
    client.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler",
                           Role="arn:aws:iam::000000000000:role/test", Code={"ZipFile": buffer.getvalue()})
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def test_a_response_comes_back_decoded(emulator_endpoint: str, function_name: str) -> None:
    invoke = RemoteInvoke(remote_invoke_client(emulator_endpoint, "us-east-1"), function_name)
    assert invoke({"failed": ["3-17", "3-18"]}) == {
        "batchItemFailures": [{"itemIdentifier": "3-17"}, {"itemIdentifier": "3-18"}]}


def test_a_function_error_raises_with_its_type_and_message(emulator_endpoint: str, function_name: str) -> None:
    client = remote_invoke_client(emulator_endpoint, "us-east-1")
    raw = client.invoke(FunctionName=function_name, Payload=json.dumps({"fail": 7}).encode())
    assert raw["FunctionError"] == "Unhandled"
    payload = json.loads(raw["Payload"].read())
    with pytest.raises(FunctionError) as caught:
        RemoteInvoke(client, function_name)({"fail": 7})
    assert (caught.value.error_type, caught.value.error_message) == (payload["errorType"], payload["errorMessage"])
    assert "bad record 7" in caught.value.error_message
    # AWS and LocalStack name the exception's class; MiniStack 1.5.33 says Runtime.HandlerError (docs/LOCALSTACK.md).
    assert caught.value.error_type in ("ValueError", "Runtime.HandlerError")
