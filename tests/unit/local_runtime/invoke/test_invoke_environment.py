"""local_runtime.invoke.environment: what the function sees and what its worker process gets."""

from __future__ import annotations

from pathlib import Path

from local_runtime.cloudformation import FunctionSpec
from local_runtime.invoke.environment import function_environment, worker_environment

SPEC = FunctionSpec(logical_id="Api", name="dev-api", handler="app.handler", code_uri=Path("/code/api"),
                    runtime="python3.12", timeout=3, memory=512,
                    environment={"STAGE": "dev", "AWS_REGION": "template-cannot-set-this",
                                 "AWS_ENDPOINT_URL": "http://template"})


def test_reserved_variables_win_over_base_env_which_wins_over_the_template() -> None:
    env = function_environment(SPEC, region="eu-west-1", base_env={"AWS_ENDPOINT_URL": "http://local"},
                               log_group="/aws/lambda/dev-api", log_stream="2026/01/01/[$LATEST]abc")
    assert env["STAGE"] == "dev" and env["AWS_ENDPOINT_URL"] == "http://local"
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == ("eu-west-1", "eu-west-1")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "dev-api" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12" and env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == "/code/api" and env["AWS_LAMBDA_LOG_STREAM_NAME"] == "2026/01/01/[$LATEST]abc"


def test_the_worker_inherits_only_what_a_program_needs_and_the_endpoint_routing() -> None:
    parent = {"PATH": "/bin", "HOME": "/root", "LC_ALL": "C.UTF-8", "AWS_ENDPOINT_URL_DYNAMODB": "http://ddb",
              "AWS_PROFILE": "real", "AWS_SECRET_ACCESS_KEY": "real-secret", "PYTHONPATH": "/runtime/only",
              "VIRTUAL_ENV": "/venv", "KAFKA_BOOTSTRAP_SERVERS": "b:9092"}
    env = worker_environment({"STAGE": "dev", "AWS_SECRET_ACCESS_KEY": "testing"}, runtime_api="127.0.0.1:9001",
                             runtime_dir="/rt", python_path=[Path("/build"), "/code", "/layer"], parent=parent)
    assert env == {"PATH": "/bin", "HOME": "/root", "LC_ALL": "C.UTF-8", "AWS_ENDPOINT_URL_DYNAMODB": "http://ddb",
                   "STAGE": "dev", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
                   "LAMBDA_RUNTIME_DIR": "/rt", "PYTHONPATH": "/build:/code:/layer"}
