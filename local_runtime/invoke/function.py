"""One function's execution environments, as Lambda keeps them: a pool of worker processes.

:class:`LocalFunction` reuses an idle warm worker when it has one (warm start) and starts a new one when all
are busy (cold start), up to the function's ``ReservedConcurrentExecutions`` (else
:data:`DEFAULT_CONCURRENCY`); a call beyond that waits for a worker to come free instead of being throttled.
Workers idle for longer than ``idle_timeout_s`` are stopped. A worker (see :mod:`.worker`) is one process
running the handler under AWS's runtime client, talking the Lambda Runtime API to this process, with the
function's environment (:mod:`.environment`), interpreter (:mod:`.interpreters`) and dependencies
(:mod:`.build`); everything it prints goes to the log sink, framed by Lambda's platform lines.

* **Timeout**: at ``Timeout`` (measured with the injectable clock) the worker's process group is SIGKILLed
  and the call fails with ``Sandbox.Timedout`` ``Task timed out after N.NN seconds``; the next call
  cold-starts.
* **Crash**: a worker that exits mid-invocation is a ``Runtime.ExitError`` (``RequestId: <id> Error: Runtime
  exited with error: exit status 3``); it is replaced by the next call.
* **Init failure** (an import error...): that call fails with the runtime client's error (``Runtime.
  ImportModuleError``...), the worker is gone, and the next call tries init again in a fresh one.

The response comes back as JSON-decoded data, as Lambda's does through JSON (``Decimal`` becomes a number);
an unserialisable response is a ``Runtime.MarshalError``.
"""

from __future__ import annotations

import contextlib
import decimal
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from local_runtime.cloudformation import FunctionSpec
from local_runtime.invoke import platform_log
from local_runtime.invoke.build import dependencies_dir
from local_runtime.invoke.context import Clock, FunctionError, SystemClock
from local_runtime.invoke.environment import function_environment, worker_environment
from local_runtime.invoke.interpreters import Interpreter, interpreter_for
from local_runtime.invoke.logsink import LogSink, StreamSink
from local_runtime.invoke.runtime_api import Invocation, Outcome, RuntimeApiServer
from local_runtime.invoke.worker import Worker, exit_description

__all__ = ["DEFAULT_CONCURRENCY", "RUNTIME_CLIENT_VARIABLE", "LocalFunction"]

DEFAULT_CONCURRENCY = 10
IDLE_TIMEOUT_S = 300.0
INIT_TIMEOUT_S = 10.0  # Lambda's limit on an init phase (here: at least the function's Timeout)
RUNTIME_CLIENT_VARIABLE = "LOCAL_LAMBDA_RUNTIME_CLIENT"  # "bootstrap" forces our own client
# Lambda's wrapper scripts: an executable that gets the runtime's command line as its arguments (a relative
# path is taken from the code directory; on Lambda it is usually a layer's file under /opt).
EXEC_WRAPPER_VARIABLE = "AWS_LAMBDA_EXEC_WRAPPER"
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
_PROJECT_MARKERS = ("template.yaml", "template.yml", "samconfig.toml")


def _json_default(value: Any) -> Any:
    # Events built from boto3's TypeDeserializer carry Decimal; Lambda's JSON has numbers.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class LocalFunction:
    """One function: its spec, its pool of workers, and invocation with Lambda's timeout and error rules."""

    def __init__(self, spec: FunctionSpec, *, region: str, account_id: str, base_env: Mapping[str, str] | None = None,
                 clock: Clock | None = None, timeout_s: float | None = None, log_sink: LogSink | None = None,
                 build_root: Path | None = None, runtime_client: str | None = None, search_path: str | None = None,
                 concurrency: int | None = None, idle_timeout_s: float = IDLE_TIMEOUT_S) -> None:
        self.spec = spec
        self.region = region
        self.account_id = account_id
        self.timeout_s = float(timeout_s if timeout_s is not None else spec.timeout)
        self.clock: Clock = clock or SystemClock()
        self.arn = spec.arn or f"arn:aws:lambda:{region}:{account_id}:function:{spec.name}"
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = _new_stream_name()  # the latest worker's
        self.invocations = 0
        reserved = spec.reserved_concurrency
        self.concurrency = concurrency if concurrency is not None else (
            reserved if reserved is not None else DEFAULT_CONCURRENCY)
        self.idle_timeout_s = idle_timeout_s
        self._base_env = dict(base_env or {})
        self._sink: LogSink = log_sink if log_sink is not None else StreamSink()
        self._build_root = build_root
        self._runtime_client = runtime_client or os.environ.get(RUNTIME_CLIENT_VARIABLE) or "auto"
        self._search_path = search_path
        self._cond = threading.Condition()
        self._idle: list[Worker] = []  # a stack: the most recently used worker is reused first
        self._workers: set[Worker] = set()
        self._starting = 0
        self._closed = False
        self._setup_lock = threading.Lock()
        self._setup: tuple[Interpreter, Path, list[str]] | None = None  # interpreter, code dir, PYTHONPATH
        self._inline_dir: Path | None = None

    # ---- what the function sees

    @property
    def environment(self) -> dict[str, str]:
        """The function's variables: template ``Environment``, then ``base_env``, then Lambda's reserved ones."""
        task_root = self._inline_dir or self.spec.code_uri
        return function_environment(self.spec, region=self.region, base_env=self._base_env,
                                    log_group=self.log_group_name, log_stream=self.log_stream_name,
                                    task_root=task_root)

    @property
    def cold(self) -> bool:
        """True when no warm worker is idle (the next call starts one)."""
        with self._cond:
            return not any(worker.alive for worker in self._idle)

    @property
    def worker_count(self) -> int:
        """Workers running now (idle or busy)."""
        with self._cond:
            return len(self._workers)

    # ---- invoking

    def invoke(self, event: Any, *, request_id: str | None = None) -> Any:
        """Invoke with ``event`` (any JSON value); return the JSON-decoded response or raise FunctionError."""
        body = json.dumps(event, default=_json_default).encode()
        request_id = request_id or str(uuid.uuid4())
        worker, init_ms = self._acquire(request_id)
        try:
            return self._run(worker, body, request_id, init_ms)
        finally:
            self._release(worker)

    def _run(self, worker: Worker, body: bytes, request_id: str, init_ms: float | None) -> Any:
        with self._cond:
            self.invocations += 1
        deadline = self.clock.monotonic() + self.timeout_s
        invocation = Invocation(request_id, body, function_arn=self.arn,
                                deadline_ms=time.time_ns() // 1_000_000 + int(self.timeout_s * 1000))
        worker.output.platform(platform_log.start_line(request_id))
        submitted = time.perf_counter()
        worker.run(invocation)
        self._wait(invocation, deadline)
        timed_out = invocation.settle(Outcome("timeout"))
        worker.sample_memory()  # before a kill: a dead process has no figures
        if timed_out:
            worker.kill()
        outcome = invocation.outcome
        assert outcome is not None
        started = invocation.sent_at or submitted
        duration_ms = self.timeout_s * 1000 if timed_out else max(0.0, (outcome.at - started) * 1000)
        report = partial(platform_log.Report, request_id, duration_ms, self.spec.memory, worker.max_memory_mb,
                         init_ms)
        if outcome.kind == "timeout":
            worker.output.platform(platform_log.timeout_line(request_id, self.timeout_s),
                                   platform_log.end_line(request_id), report(status="timeout").line())
            raise FunctionError("Sandbox.Timedout", f"Task timed out after {self.timeout_s:.2f} seconds")
        if outcome.kind == "exit":
            error = _exit_error(request_id, outcome.exit_status)
            worker.output.platform(platform_log.exit_line(error.error_message, error.error_type),
                                   platform_log.end_line(request_id),
                                   report(status="error", error_type=error.error_type).line())
            raise error
        worker.output.platform(platform_log.end_line(request_id), report().line())
        if outcome.kind == "error":
            raise _function_error(outcome)
        return _decode(outcome)

    def _wait(self, invocation: Invocation, deadline: float) -> None:
        """Until the invocation is settled or the (injectable) clock passes ``deadline``."""
        exact = isinstance(self.clock, SystemClock)
        while True:
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return
            # A fake clock may move on its own: look at it often rather than sleeping the whole remainder.
            if invocation.done.wait(remaining if exact else min(remaining, 0.05)):
                return

    # ---- the pool

    def _acquire(self, request_id: str) -> tuple[Worker, float | None]:
        """An idle worker (warm), or a new one once its init is over (cold: with its init duration)."""
        if self.concurrency == 0:
            raise FunctionError("TooManyRequestsException", "Rate Exceeded. (ReservedConcurrentExecutions is 0)")
        with self._cond:
            while True:
                self._check_open()
                self._reap_idle()
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker, None
                    self._workers.discard(worker)
                if len(self._workers) + self._starting < self.concurrency:
                    self._starting += 1
                    break
                self._cond.wait()
        try:
            worker = self._start_worker(request_id)
        except BaseException:
            with self._cond:
                self._starting -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._starting -= 1
            closed = self._closed
            if not closed:
                self._workers.add(worker)
        if closed:
            worker.kill()
            self._check_open()
        return worker, worker.init_ms

    def _check_open(self) -> None:
        if self._closed:
            raise FunctionError("Sandbox.Stopped", f"{self.spec.logical_id}: the local runtime has stopped")

    def _release(self, worker: Worker) -> None:
        worker.inflight = None
        with self._cond:
            if worker.alive and not self._closed:
                worker.last_used = time.monotonic()
                self._idle.append(worker)
            else:
                self._workers.discard(worker)
            self._cond.notify()

    def _reap_idle(self) -> None:
        """Stop workers idle for longer than ``idle_timeout_s`` (called under the lock)."""
        limit = time.monotonic() - self.idle_timeout_s
        stale = [worker for worker in self._idle if worker.last_used < limit]
        for worker in stale:
            self._idle.remove(worker)
            self._workers.discard(worker)
            worker.kill()

    def _on_worker_exit(self, worker: Worker) -> None:
        with self._cond:
            self._workers.discard(worker)
            if worker in self._idle:
                self._idle.remove(worker)
            self._cond.notify()

    # ---- starting a worker

    def _start_worker(self, request_id: str) -> Worker:
        interpreter, code_dir, python_path = self._prepare()
        stream = _new_stream_name()
        self.log_stream_name = stream
        server = RuntimeApiServer(self.spec.logical_id)
        env = worker_environment(
            function_environment(self.spec, region=self.region, base_env=self._base_env,
                                 log_group=self.log_group_name, log_stream=stream, task_root=code_dir),
            runtime_api=server.address, runtime_dir=BOOTSTRAP.parent, python_path=python_path)
        command = self._command(interpreter)
        wrapper = env.get(EXEC_WRAPPER_VARIABLE)
        if wrapper:  # Lambda runs the runtime through the wrapper script, the runtime's command as its arguments
            command = [str(code_dir / wrapper) if not os.path.isabs(wrapper) else wrapper, *command]
        try:
            worker = Worker(command=command, env=env, cwd=code_dir, server=server,
                            emit=partial(self._sink.emit, self.log_group_name, stream), name=self.spec.logical_id,
                            on_exit=self._on_worker_exit)
        except OSError as exc:
            server.close()
            raise FunctionError("Runtime.InvalidEntrypoint", f"{self.spec.logical_id}: cannot start "
                                f"{interpreter.executable}: {exc}") from exc
        limit = max(INIT_TIMEOUT_S, self.timeout_s)
        ready = worker.wait_ready(limit)
        failure: FunctionError | None = None
        if server.init_error is not None:
            failure = _function_error(server.init_error)
        elif not ready:
            failure = FunctionError("Sandbox.Timedout", f"Init timed out after {limit:.2f} seconds")
        elif server.ready_at is None:  # it exited during init without saying why
            worker.wait_exit(1.0)
            failure = _exit_error(request_id, worker.exit_status)
        if failure is None:
            worker.sample_memory()  # what init used: the figure a crash before any other sample reports
            return worker
        worker.kill()
        elapsed_ms = (time.perf_counter() - worker.started_at) * 1000
        status = "timeout" if failure.error_type == "Sandbox.Timedout" else "error"
        report = platform_log.Report(request_id, elapsed_ms, self.spec.memory, worker.max_memory_mb,
                                     status=status, error_type=failure.error_type)
        worker.output.platform(platform_log.init_report_line(elapsed_ms, status, failure.error_type),
                               platform_log.start_line(request_id), platform_log.end_line(request_id), report.line())
        raise failure

    def _prepare(self) -> tuple[Interpreter, Path, list[str]]:
        """Interpreter, code directory and PYTHONPATH, worked out (and dependencies built) once."""
        with self._setup_lock:
            if self._setup is None:
                spec = self.spec
                interpreter = interpreter_for(spec.runtime, search_path=self._search_path)
                code_dir = self._code_dir()
                build_root = self._build_root or _project_dir(code_dir)
                deps = dependencies_dir(spec.logical_id, spec.code_uri, interpreter, build_root)
                python_path = [str(p) for p in (deps, code_dir, *spec.layers) if p is not None]
                self._setup = (interpreter, code_dir, python_path)
            return self._setup

    def _code_dir(self) -> Path:
        """The code directory (LAMBDA_TASK_ROOT); inline code is written to a file there first."""
        spec = self.spec
        if spec.inline_code is not None:
            if self._inline_dir is None:
                module = spec.handler.rpartition(".")[0] or "index"
                directory = Path(tempfile.mkdtemp(prefix=f"lambda-inline-{spec.logical_id}-"))
                file = directory.joinpath(*module.replace("/", ".").split(".")).with_suffix(".py")
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(spec.inline_code, encoding="utf-8")
                self._inline_dir = directory
            return self._inline_dir
        if spec.code_uri is None:
            raise FunctionError("Runtime.InvalidEntrypoint",
                                f"{spec.logical_id} has no local code (CodeUri on S3 or an image)")
        return spec.code_uri

    def _command(self, interpreter: Interpreter) -> list[str]:
        if self._runtime_client not in ("auto", "awslambdaric", "bootstrap"):
            raise FunctionError("Runtime.InvalidEntrypoint", f"unknown runtime client {self._runtime_client!r} "
                                f"(${RUNTIME_CLIENT_VARIABLE}: auto, awslambdaric or bootstrap)")
        use_ric = self._runtime_client == "awslambdaric" or (
            self._runtime_client == "auto" and interpreter.has_runtime_client)
        if use_ric:
            return [interpreter.executable, "-u", "-m", "awslambdaric", self.spec.handler]
        return [interpreter.executable, "-u", str(BOOTSTRAP), self.spec.handler]

    # ---- stopping

    def close(self) -> None:
        """Kill every worker (idle or busy: a call in flight fails as a crash); later calls fail. Idempotent."""
        with self._cond:
            already, self._closed = self._closed, True
            workers = list(self._workers)
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.kill()
        for worker in workers:
            worker.wait_exit(2.0)
        if not already and self._inline_dir is not None:
            shutil.rmtree(self._inline_dir, ignore_errors=True)

    def __enter__(self) -> LocalFunction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _new_stream_name() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


def _project_dir(code_dir: Path) -> Path:
    """The nearest directory above the code holding a template or samconfig (where ``sam build`` runs)."""
    for directory in (code_dir, *code_dir.parents):
        if any((directory / marker).is_file() for marker in _PROJECT_MARKERS):
            return directory
    return code_dir.parent


def _exit_error(request_id: str, status: int | None) -> FunctionError:
    if status == 0:
        return FunctionError("Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited without "
                             "providing a reason")
    return FunctionError("Runtime.ExitError",
                         f"RequestId: {request_id} Error: Runtime exited with error: {exit_description(status)}")


def _function_error(outcome: Outcome) -> FunctionError:
    """The FunctionError of an error the runtime client posted (Lambda's errorType/errorMessage/stackTrace)."""
    with contextlib.suppress(ValueError):
        payload = json.loads(outcome.body)
        if isinstance(payload, dict):
            trace = payload.get("stackTrace") or []
            return FunctionError(str(payload.get("errorType") or outcome.error_type or "Unhandled"),
                                 str(payload.get("errorMessage") or ""),
                                 trace if isinstance(trace, list) else [str(trace)])
    return FunctionError(outcome.error_type or "Unhandled", outcome.body.decode("utf-8", errors="replace"))


def _decode(outcome: Outcome) -> Any:
    """The response as JSON-decoded data (raw bytes when the handler returned bytes that are not JSON)."""
    try:
        return json.loads(outcome.body) if outcome.body else None
    except ValueError:
        return outcome.body
