"""local_runtime.invoke workers: each execution environment is a process, as on Lambda.

Real worker processes on the fixture handlers of tests/fixtures/generic/workers (no AWS needed). Most tests run
under both runtime clients: AWS's awslambdaric and our stdlib-only bootstrap.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from local_runtime.cloudformation import FunctionSpec
from local_runtime.invoke import FunctionError, Invoker, ListSink, LocalFunction

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "generic"
WORKERS = FIXTURES / "workers"
REGION = "us-east-1"

CLIENTS = ["awslambdaric", "bootstrap"]


def spec(handler: str, *, code: Path = WORKERS, timeout: float = 10, environment: dict[str, str] | None = None,
         logical_id: str | None = None, reserved: int | None = None, runtime: str = "python3.12") -> FunctionSpec:
    logical_id = logical_id or f"Fn{uuid.uuid4().hex[:8]}"
    return FunctionSpec(logical_id=logical_id, name=f"test-{logical_id}", handler=handler, code_uri=code,
                        runtime=runtime, timeout=timeout, memory=128, environment=environment or {},
                        reserved_concurrency=reserved)


@pytest.fixture(params=CLIENTS)
def client(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


def function(fn_spec: FunctionSpec, client: str, sink: ListSink | None = None, **options: Any) -> LocalFunction:
    return LocalFunction(fn_spec, region=REGION, account_id="123456789012", runtime_client=client,
                         log_sink=sink if sink is not None else ListSink(), **options)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # a zombie is not alive
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pid: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_requested_client_runs_the_handler(client: str) -> None:
    with function(spec("app.whoami"), client) as fn:
        assert fn.invoke({})["client"] == client


def test_cold_then_warm_start_reuses_the_process(client: str, sink: ListSink) -> None:
    with function(spec("app.whoami"), client, sink) as fn:
        assert fn.cold
        first = fn.invoke({}, request_id="req-1")
        assert not fn.cold
        second = fn.invoke({}, request_id="req-2")
    assert first["pid"] == second["pid"] != os.getpid()
    reports = [m for m in sink.messages() if m.startswith("REPORT")]
    assert [r.split("\t")[0] for r in reports] == ["REPORT RequestId: req-1", "REPORT RequestId: req-2"]
    assert "Init Duration: " in reports[0] and "Init Duration" not in reports[1]
    assert float(reports[0].split("Init Duration: ")[1].split(" ms")[0]) > 0
    assert "Max Memory Used: " in reports[0] and "Memory Size: 128 MB" in reports[0]


def test_the_worker_environment_is_the_functions_only(client: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME_ONLY_SECRET", "must-not-leak")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1")  # the runtime routes by these: kept
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    fn_spec = spec("app.whoami", environment={"STAGE": "test", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:2"})
    with function(fn_spec, client, base_env={"AWS_ENDPOINT_URL": "http://127.0.0.1:3"}) as fn:
        result = fn.invoke({})
    env = result["env"]
    assert "RUNTIME_ONLY_SECRET" not in env and "AWS_PROFILE" not in env
    assert env["STAGE"] == "test" and env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:3"
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:2"  # the template's own value wins
    assert env["PATH"] == os.environ["PATH"]
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["LAMBDA_TASK_ROOT"] == str(WORKERS) == result["cwd"]
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(WORKERS)
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == result["log_stream"]
    assert result["memory"] == "128" and 0 < result["remaining"] <= 10_000
    assert not (set(env) - {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SSL_CERT_FILE",
                            "SSL_CERT_DIR", "PYTHONPATH", "LAMBDA_RUNTIME_DIR", "AWS_LAMBDA_RUNTIME_API",
                            "_X_AMZN_TRACE_ID", "AWS_ENDPOINT_URL"} - set(fn.environment)
                - {k for k in env if k.startswith(("LC_", "AWS_ENDPOINT_URL_"))})


def test_two_functions_with_the_same_module_names_keep_their_own(client: str) -> None:
    with Invoker([spec("app.whoami", logical_id="Workers"), spec("app.handler", code=FIXTURES / "other",
                                                                 logical_id="Other")],
                 region=REGION, runtime_client=client, log_sink=ListSink()) as invoker:
        for _ in range(2):
            assert invoker.invoke("Workers", {})["helpers"] == "workers helpers"
            assert invoker.invoke("Other", {})["helpers"] == "other helpers"


def test_two_functions_run_in_parallel(client: str) -> None:
    fns = [spec("app.sleep", logical_id="SleepA"), spec("app.sleep", logical_id="SleepB")]
    with Invoker(fns, region=REGION, runtime_client=client, log_sink=ListSink()) as invoker:
        for name in ("SleepA", "SleepB"):
            invoker.invoke(name, {"seconds": 0})  # both warm: the overlap measured is the handlers'
        results: dict[str, dict[str, Any]] = {}
        threads = [threading.Thread(target=lambda n=name: results.__setitem__(n, invoker.invoke(n, {"seconds": 1})))
                   for name in ("SleepA", "SleepB")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    a, b = results["SleepA"], results["SleepB"]
    assert a["pid"] != b["pid"]
    assert max(a["started"], b["started"]) < min(a["ended"], b["ended"])  # the two sleeps overlapped


def test_concurrent_calls_of_one_function_get_their_own_workers_up_to_the_cap(tmp_path: Path) -> None:
    def run_three(fn: LocalFunction, meeting: Path, wait_s: float) -> list[dict[str, Any]]:
        meeting.mkdir()
        event = {"dir": str(meeting), "expected": 3, "wait": wait_s}
        results: list[dict[str, Any]] = []
        threads = [threading.Thread(target=lambda: results.append(fn.invoke(event))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        return results

    # Each call waits until all three have arrived: with three workers every call meets the other two
    # (however long the cold starts take); one worker runs them one after another, each meeting only those
    # before it.
    with function(spec("app.rendezvous", timeout=40), "auto") as fn:
        parallel = run_three(fn, tmp_path / "parallel", 30)
        assert len({r["pid"] for r in parallel}) == 3 and fn.worker_count == 3
        assert [r["met"] for r in parallel] == [3, 3, 3]
    with function(spec("app.rendezvous", reserved=1), "auto") as capped:
        serial = run_three(capped, tmp_path / "serial", 0.5)
        assert len({r["pid"] for r in serial}) == 1 and capped.worker_count == 1
        assert sorted(r["met"] for r in serial) == [1, 2, 3]


def test_a_timeout_kills_the_process_group_and_the_next_call_is_cold(client: str, sink: ListSink,
                                                                     tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    with function(spec("app.leave_child_and_hang", timeout=1), client, sink) as fn:
        with pytest.raises(FunctionError) as info:
            fn.invoke({"pid_file": str(pid_file)}, request_id="slow-1")
        assert (info.value.error_type, info.value.error_message) == (
            "Sandbox.Timedout", "Task timed out after 1.00 seconds")
        assert fn.cold
        assert wait_gone(int(pid_file.read_text()))  # what the handler started went with the worker
    messages = sink.messages()
    assert any(m.endswith("slow-1 Task timed out after 1.00 seconds") for m in messages)
    report = next(m for m in messages if m.startswith("REPORT RequestId: slow-1"))
    assert "Status: timeout" in report and "Duration: 1000.00 ms" in report


def test_after_a_timeout_a_fresh_worker_answers(client: str, sink: ListSink) -> None:
    with function(spec("app.sleep", timeout=1), client, sink) as fn:
        first = fn.invoke({"seconds": 0})
        with pytest.raises(FunctionError, match="Task timed out"):
            fn.invoke({"seconds": 5})
        assert wait_gone(first["pid"])
        second = fn.invoke({"seconds": 0}, request_id="after")
    assert second["pid"] != first["pid"]
    report = next(m for m in sink.messages() if m.startswith("REPORT RequestId: after"))
    assert "Init Duration" in report


@pytest.mark.parametrize(("handler", "how"), [
    ("app.exit3", "Runtime exited with error: exit status 3"),
    ("app.segfault", "Runtime exited with error: signal: segmentation fault"),
    ("app.exit0", "Runtime exited without providing a reason"),
])
def test_a_crash_is_a_runtime_exit_error_and_the_worker_is_replaced(client: str, sink: ListSink, handler: str,
                                                                    how: str) -> None:
    with function(spec(handler), client, sink) as fn:
        for attempt in ("crash-1", "crash-2"):
            with pytest.raises(FunctionError) as info:
                fn.invoke({}, request_id=attempt)
            assert info.value.error_type == "Runtime.ExitError"
            assert info.value.error_message == f"RequestId: {attempt} Error: {how}"
            assert fn.cold
    report = next(m for m in sink.messages() if m.startswith("REPORT RequestId: crash-1"))
    assert report.endswith("Status: error\tError Type: Runtime.ExitError")
    assert len(sink.streams()) == 2  # a new worker (log stream) for the second call


def test_the_runtime_survives_a_crash_and_other_functions_keep_working(client: str) -> None:
    with Invoker([spec("app.segfault", logical_id="Crash"), spec("app.whoami", logical_id="Fine")],
                 region=REGION, runtime_client=client, log_sink=ListSink()) as invoker:
        fine = invoker.invoke("Fine", {})
        with pytest.raises(FunctionError, match="segmentation fault"):
            invoker.invoke("Crash", {})
        assert invoker.invoke("Fine", {})["pid"] == fine["pid"]


def test_an_init_failure_is_retried_in_a_fresh_worker(client: str, sink: ListSink, tmp_path: Path) -> None:
    marker = tmp_path / "fail"
    marker.touch()
    with function(spec("flaky_init.handler", environment={"FAIL_INIT_WHILE": str(marker)}), client, sink) as fn:
        with pytest.raises(FunctionError) as info:
            fn.invoke({}, request_id="init-fails")
        assert info.value.error_type == "Runtime.ImportModuleError"
        assert info.value.error_message == ("Unable to import module 'flaky_init': No module named "
                                            "'a_module_that_is_not_there'")
        assert fn.cold and fn.worker_count == 0
        marker.unlink()
        assert fn.invoke({})["pid"] > 0
    messages = sink.messages()
    assert any(m.startswith("[ERROR] Runtime.ImportModuleError: Unable to import module 'flaky_init'")
               for m in messages)
    assert any(m.startswith("INIT_REPORT Init Duration: ") and m.endswith(
        "Status: error\tError Type: Runtime.ImportModuleError") for m in messages)


def test_a_function_error_keeps_the_worker(client: str) -> None:
    with function(spec("app.raises"), client) as fn:
        errors = []
        for _ in range(2):
            with pytest.raises(FunctionError) as info:
                fn.invoke({"key": "sku"})
            errors.append(info.value)
        assert not fn.cold and fn.worker_count == 1
    assert errors[0].payload()["errorType"] == "KeyError" and errors[0].error_message == "'sku'"
    assert any("raise KeyError" in line for line in errors[0].stack_trace)


def test_close_kills_every_worker_quickly_and_twice_is_fine(client: str) -> None:
    fn = function(spec("app.sleep"), client)
    pids = [fn.invoke({"seconds": 0})["pid"]]
    errors: list[FunctionError] = []

    def call_in_flight() -> None:
        try:
            fn.invoke({"seconds": 30})
        except FunctionError as exc:
            errors.append(exc)

    busy = threading.Thread(target=call_in_flight)
    busy.start()
    time.sleep(0.5)
    started = time.monotonic()
    fn.close()
    fn.close()
    assert time.monotonic() - started < 3
    busy.join(5)
    assert not busy.is_alive() and errors[0].error_type == "Runtime.ExitError"  # killed in flight
    assert all(wait_gone(pid) for pid in pids)
    with pytest.raises(FunctionError, match="stopped"):
        fn.invoke({})


def test_a_worker_started_from_a_short_lived_thread_outlives_it() -> None:
    """PR_SET_PDEATHSIG follows the forking thread: workers are forked by a thread that lives on."""
    with function(spec("app.whoami"), "auto") as fn:
        pids: list[int] = []
        thread = threading.Thread(target=lambda: pids.append(fn.invoke({})["pid"]))
        thread.start()
        thread.join(30)
        time.sleep(0.3)
        assert fn.invoke({})["pid"] == pids[0]


def test_a_non_python_runtime_is_a_clear_function_error() -> None:
    with function(spec("index.handler", runtime="nodejs20.x"), "auto") as fn, \
            pytest.raises(FunctionError) as info:
        fn.invoke({})
    assert info.value.error_type == "Runtime.InvalidRuntime" and "nodejs20.x" in info.value.error_message



def test_an_exec_wrapper_runs_the_runtime(client: str, tmp_path: Path) -> None:
    """``AWS_LAMBDA_EXEC_WRAPPER``: Lambda starts the runtime through the wrapper script, passing the runtime's
    command line as its arguments; what the wrapper sets is seen by the handler."""
    wrapper = tmp_path / "wrapper"
    wrapper.write_text('#!/bin/sh\nWRAPPED_BY="$(basename "$0") $#"\nexport WRAPPED_BY\nexec "$@"\n')
    wrapper.chmod(0o755)
    fn = function(spec("app.whoami", environment={"AWS_LAMBDA_EXEC_WRAPPER": str(wrapper)}), client)
    try:
        result = fn.invoke({})
    finally:
        fn.close()
    name, _, argc = result["env"]["WRAPPED_BY"].partition(" ")
    assert name == "wrapper" and int(argc) >= 2  # the interpreter, its options, the client, the handler
    assert result["client"] == client
