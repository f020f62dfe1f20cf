"""local_runtime.invoke: handlers from the generic fixture, deployed on the session's moto server, each run in
worker processes (see test_worker_processes.py for what is specific to processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from local_runtime.cloudformation import Template, load_template
from local_runtime.deploy import deploy_template
from local_runtime.invoke import FunctionError, Invoker, LambdaContext, LocalFunction
from local_runtime.services import aws

ROOT = Path(__file__).resolve().parents[4]
GENERIC = ROOT / "tests" / "fixtures" / "generic" / "template.yaml"
REGION = "us-east-1"


class FakeClock:
    """Advances only when told to (or by ``step`` on every reading)."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 1000.0
        self.step = step

    def monotonic(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture(scope="module")
def deployed(moto_endpoint: str) -> Template:
    stack = f"invoke-{uuid.uuid4().hex[:6]}"
    template = load_template(
        GENERIC, stack_name=stack, region=REGION, parameter_overrides={"ApiKey": "k"}, endpoint_url=moto_endpoint
    )
    _deployment, bound = deploy_template(template, endpoint_url=moto_endpoint)
    return bound


@pytest.fixture(scope="module")
def invoker(deployed: Template, moto_endpoint: str) -> Iterator[Invoker]:
    with Invoker(deployed.functions(), region=REGION, base_env=aws.aws_env(moto_endpoint, REGION)) as invoker:
        yield invoker


def test_environment_from_globals_function_and_runtime(
    invoker: Invoker, deployed: Template, moto_endpoint: str
) -> None:
    before = dict(os.environ)
    result = invoker.invoke("ApiFunction", {"hello": "world"})
    env = result["env"]
    assert result["event"] == {"hello": "world"}
    assert (env["STAGE"], env["SHARED"], env["OVERRIDDEN"]) == ("dev", "from-globals", "from-function")
    assert result["import_time_stage"] == "dev"  # set while the module imported, too
    assert env["QUEUE_URL"] == deployed.resource_info("WorkQueue").ref and env["QUEUE_URL"].startswith(moto_endpoint)
    assert env["AWS_ENDPOINT_URL"] == moto_endpoint
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("testing", "testing")
    name = deployed.function("ApiFunction").name
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert (env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], env["AWS_REGION"], env["_HANDLER"]) == (
        "256",
        REGION,
        "app.handler",
    )
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert dict(os.environ) == before  # restored after the call


def test_context_and_remaining_time(invoker: Invoker, deployed: Template) -> None:
    result = invoker.invoke("ApiFunction", {})
    ctx = result["context"]
    spec = deployed.function("ApiFunction")
    assert ctx["function_name"] == spec.name and ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == f"arn:aws:lambda:{REGION}:123456789012:function:{spec.name}"
    assert ctx["memory_limit_in_mb"] == "256"  # a string, as Lambda's runtime reads it from the environment
    assert uuid.UUID(ctx["aws_request_id"])
    assert ctx["log_group_name"] == f"/aws/lambda/{spec.name}" and "[$LATEST]" in ctx["log_stream_name"]
    first, second = result["remaining"]
    assert 0 < second < first <= spec.timeout * 1000  # Timeout is 2 s; the handler sleeps 50 ms in between


def test_layers_and_sibling_packages_of_two_app_py_coexist(invoker: Invoker) -> None:
    for _ in range(3):
        api = invoker.invoke("ApiFunction", {})
        other = invoker.invoke("OtherFunction", {})
        assert api["helpers"] == "generic helpers" and api["layers"] == ["plain layer", "built layer"]
        assert other["helpers"] == "other helpers" and other["overridden"] == "from-globals"
    assert "helpers" not in sys.modules  # each function's modules live in its own worker processes
    assert invoker.function("dev-other") is invoker.function("OtherFunction")


def test_a_layer_module_is_invisible_to_functions_without_that_layer(invoker: Invoker) -> None:
    assert invoker.invoke("ApiFunction", {})["layers"] == ["plain layer", "built layer"]
    assert invoker.invoke("NoLayerFunction", {}) == {"layer_visible": False}


def test_modules_imported_during_an_invocation_stay_private(deployed: Template, moto_endpoint: str) -> None:
    spec = replace(deployed.function("ApiFunction"), logical_id="LazyFunction", handler="app.lazy_import")
    with LocalFunction(spec, region=REGION, account_id="123456789012", base_env=aws.aws_env(moto_endpoint)) as fn:
        assert fn.invoke({}) == "generic lazy"
        assert "helpers.lazy" not in sys.modules
        assert fn.invoke({}) == "generic lazy"


def test_timeout_is_a_function_error_and_the_next_call_cold_starts(invoker: Invoker) -> None:
    fn = invoker.function("SleepyFunction")
    started = time.monotonic()
    with pytest.raises(FunctionError) as info:
        fn.invoke({"sleep": 5})
    assert time.monotonic() - started < 2.5
    assert info.value.error_type == "Sandbox.Timedout"
    assert info.value.error_message == "Task timed out after 1.00 seconds"
    assert fn.cold
    assert fn.invoke({"sleep": 0}) == {"slept": True}


def test_timeout_follows_the_injected_clock(deployed: Template) -> None:
    clock = FakeClock(step=0.6)  # every reading moves time on: 1 s passes in two polls
    with LocalFunction(deployed.function("SleepyFunction"), region=REGION, account_id="123456789012",
                       clock=clock) as fn:
        assert fn.invoke({"sleep": 0}) == {"slept": True}  # warm: the worker's start is not what is timed
        started = time.monotonic()
        with pytest.raises(FunctionError, match=r"Task timed out after 1\.00 seconds"):
            fn.invoke({"sleep": 3})
        assert time.monotonic() - started < 1.0  # well before the real second


def test_lambda_context_with_a_fake_clock() -> None:
    clock = FakeClock()
    ctx = LambdaContext(
        function_name="f",
        invoked_function_arn="arn",
        memory_limit_in_mb=128,
        timeout_s=3,
        log_group_name="/aws/lambda/f",
        log_stream_name="s",
        clock=clock,
    )
    assert ctx.get_remaining_time_in_millis() == 3000
    clock.now += 1.25
    assert ctx.get_remaining_time_in_millis() == 1750
    clock.now += 10
    assert ctx.get_remaining_time_in_millis() == 0


def test_handler_exception_is_a_function_error(invoker: Invoker) -> None:
    with pytest.raises(FunctionError) as info:
        invoker.invoke("FailingFunction", {"why": "no id"})
    payload = info.value.payload()
    assert (payload["errorType"], payload["errorMessage"]) == ("ValueError", "bad input: no id")
    assert any("failing" in line for line in payload["stackTrace"])


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
        ("missing.handler", "Runtime.ImportModuleError", "Unable to import module 'missing'"),
        ("nodots", "Runtime.MalformedHandlerName", "Bad handler 'nodots'"),
        ("app.unserializable", "Runtime.MarshalError", "Unable to marshal response"),
    ],
)
def test_runtime_errors(deployed: Template, handler: str, error_type: str, message: str) -> None:
    spec = replace(deployed.function("ApiFunction"), logical_id=f"Probe{uuid.uuid4().hex[:6]}", handler=handler)
    with LocalFunction(spec, region=REGION, account_id="123456789012") as fn, pytest.raises(FunctionError) as info:
        fn.invoke({})
    assert info.value.error_type == error_type and message in info.value.error_message


def test_response_goes_through_json(deployed: Template) -> None:
    spec = replace(deployed.function("ApiFunction"), logical_id="Decimals", handler="app.decimals")
    with LocalFunction(spec, region=REGION, account_id="1") as fn:
        assert fn.invoke({}) == {"int": 2, "float": 1.5, "tuple": [1, 2]}


def test_inline_code(invoker: Invoker, deployed: Template) -> None:
    result = invoker.invoke("InlineFunction", {"x": 1})
    assert result == {"inline": True, "name": deployed.function("InlineFunction").name, "echo": {"x": 1}}


def test_concurrent_invocations_of_different_functions_see_their_own_environment(invoker: Invoker) -> None:
    errors: list[str] = []

    def hammer(name: str, expected: str) -> None:
        for _ in range(10):
            result = invoker.invoke(name, {})
            seen = result["env"]["OVERRIDDEN"] if "env" in result else result["overridden"]
            if seen != expected:
                errors.append(f"{name} saw {seen}")

    threads = [threading.Thread(target=hammer, args=("ApiFunction", "from-function")) for _ in range(3)]
    threads += [threading.Thread(target=hammer, args=("OtherFunction", "from-globals")) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors


# ------------------------------------------------------------------------------------ the CLI


def _cli(*args: str, event: dict | None = None, tmp_path: Path, extra_env: dict | None = None):
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event or {}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(extra_env or {})
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "local_runtime.cli",
            "invoke",
            *args,
            "--event",
            str(event_file),
            "--template",
            str(GENERIC),
            "--parameter-overrides",
            "ApiKey=from-cli",
            "--config-env",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


def test_cli_invoke_starts_moto_deploys_and_prints_only_the_response(tmp_path: Path) -> None:
    done = _cli("ApiFunction", event={"order": 7}, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)  # stdout is the response alone: the handler's print went to stderr
    assert response["event"] == {"order": 7}
    assert response["env"]["API_KEY"] == "from-cli"
    assert response["env"]["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert "a log line from the handler" in done.stderr


def test_cli_invoke_function_error_exits_1(tmp_path: Path, moto_endpoint: str) -> None:
    done = _cli(
        "FailingFunction", event={"why": "cli"}, tmp_path=tmp_path, extra_env={"AWS_ENDPOINT_URL": moto_endpoint}
    )  # an existing endpoint: nothing started
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "ValueError"
    assert "bad input: cli" in done.stderr


def test_cli_unknown_function_is_a_template_error(tmp_path: Path, moto_endpoint: str) -> None:
    done = _cli("Nope", tmp_path=tmp_path, extra_env={"AWS_ENDPOINT_URL": moto_endpoint})
    assert done.returncode == 2 and "no function 'Nope'" in done.stderr
