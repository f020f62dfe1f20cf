"""Run Lambda handlers in this process, as close to the Python runtime as a plain process allows.

:class:`Invoker` holds one :class:`LocalFunction` ("sandbox") per :class:`~local_runtime.cloudformation.FunctionSpec`.
A sandbox

* imports the handler module from ``code_uri`` under a unique module name (``_lambda_<LogicalId>_app_<hash>``),
  so several functions' ``app.py`` coexist; ``code_uri`` and the layers' directories are on ``sys.path`` while
  it imports, so sibling packages (``chalicelib``) and layer packages import as they do on Lambda;
* keeps the function's *private* modules (imported from its ``code_uri`` or its layers) out of ``sys.modules``
  between invocations, so two functions may each have their own ``utils.py`` and a function cannot import a
  module only another function's layer provides. Modules the host process imported itself (and everything
  from site-packages) stay shared;
* sets the function's environment (template ``Environment`` + the variables the Lambda runtime sets) while
  its code runs - imports included, because handlers read the environment at module scope;
* runs the handler in a worker thread with a :class:`LambdaContext`; an overrun of ``Timeout`` becomes a
  ``Sandbox.Timedout`` :class:`FunctionError` and the sandbox is discarded (the next call cold-starts), as
  Lambda does.

**Environment variables and ``sys.path`` are process-global.** Invocations are therefore serialised *per
function*: any number of concurrent invocations of the same function may run together (they share one
environment), but a different function waits until they are done, then its environment is installed. A
handler that synchronously invokes another local function would deadlock; don't. A timed-out handler
thread cannot be killed: it keeps running in the background, seeing whatever environment is current.

The response goes through JSON, as Lambda's does (``Decimal`` becomes a number, tuples become lists); an
unserialisable response is a ``Runtime.MarshalError``.
"""

from __future__ import annotations

import contextlib
import decimal
import hashlib
import importlib.util
import json
import os
import sys
import traceback
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from local_runtime.cloudformation import FunctionSpec
from local_runtime.invoke.context import Clock, FunctionError, LambdaContext, SystemClock
from local_runtime.invoke.workers import GATE, POOL
from local_runtime.services.aws import SCRUBBED_VARIABLES

__all__ = ["Clock", "FunctionError", "Invoker", "LambdaContext", "LocalFunction", "SystemClock"]


def _json_default(value: Any) -> Any:
    # awslambdaric's marshaller turns Decimal (what boto3's TypeDeserializer yields) into numbers.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _split_handler(handler: str) -> tuple[str, str]:
    module, _, attr = handler.rpartition(".")
    if not module or not attr:
        raise FunctionError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack")
    return module.replace("/", "."), attr



class LocalFunction:
    """One function's sandbox: its module, private modules, environment and invocation logic."""

    def __init__(self, spec: FunctionSpec, *, region: str, account_id: str, base_env: Mapping[str, str] | None = None,
                 clock: Clock | None = None, timeout_s: float | None = None) -> None:
        self.spec = spec
        self.region = region
        self.account_id = account_id
        self.timeout_s = float(timeout_s if timeout_s is not None else spec.timeout)
        self.clock: Clock = clock or SystemClock()
        self.arn = spec.arn or f"arn:aws:lambda:{region}:{account_id}:function:{spec.name}"
        self.invocations = 0
        self._base_env = dict(base_env or {})
        self._handler: Any = None
        self._module: ModuleType | None = None
        self._private: dict[str, ModuleType] = {}
        self._stale = False  # discarded while installed: drop the private modules at uninstall
        self._saved_env: dict[str, str | None] = {}
        self._saved_modules: dict[str, ModuleType | None] = {}
        self._modules_before: set[str] = set()
        self._path_entries: list[str] = []
        self._new_log_stream()

    # ---- environment and sys.path / sys.modules switching (called by the gate, under its lock)

    def _new_log_stream(self) -> None:
        now = datetime.now(UTC)
        self.log_group_name = f"/aws/lambda/{self.spec.name}"
        self.log_stream_name = f"{now:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"

    @property
    def environment(self) -> dict[str, str]:
        """Everything set while this function runs: template variables, then what Lambda itself sets.

        The endpoint, dummy credentials and region (``base_env``) and the runtime's reserved variables win over
        the template: on Lambda they are reserved too, and the local endpoint must not be bypassed.
        """
        spec = self.spec
        reserved = {
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream_name,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or 'python3.12'}",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(spec.code_uri or ""),
        }
        return {**spec.environment, **self._base_env, **reserved}

    def install(self) -> None:
        """Put this function's environment, ``sys.path`` entries and private modules in place (the gate calls
        this, under its lock, before the first of a group of concurrent invocations)."""
        env = self.environment
        self._saved_env = {k: os.environ.get(k) for k in (*env, *SCRUBBED_VARIABLES)}
        for key in SCRUBBED_VARIABLES:
            os.environ.pop(key, None)
        os.environ.update(env)
        self._path_entries = [str(p) for p in (self.spec.code_uri, *self.spec.layers) if p is not None]
        sys.path[0:0] = self._path_entries
        self._saved_modules = {name: sys.modules.get(name) for name in self._private}
        sys.modules.update(self._private)
        self._modules_before = set(sys.modules)

    def uninstall(self) -> None:
        """Undo :meth:`install`, keeping aside the modules this function imported (after its last invocation)."""
        # Modules first imported during this activation from code_uri or a layer are this function's own:
        # another function must not see them (on Lambda it could not import them at all).
        roots = tuple(entry.rstrip(os.sep) + os.sep for entry in self._path_entries)
        for name in set(sys.modules) - self._modules_before:
            module = sys.modules[name]
            file = getattr(module, "__file__", None) or ""
            if roots and file.startswith(roots) and module is not self._module:
                self._private[name] = module
        for name in self._private:
            previous = self._saved_modules.get(name)
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
        if self._stale:
            self._private = {}
            self._stale = False
        for entry in self._path_entries:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    # ---- init and invoke

    @property
    def module_name(self) -> str:
        """The unique name the handler module is imported under."""
        module, _ = _split_handler(self.spec.handler)
        # The code location is part of the name: two templates may both have an "ApiFunction".
        where = hashlib.sha1(str(self.spec.code_uri).encode(), usedforsecurity=False).hexdigest()[:8]
        return f"_lambda_{self.spec.logical_id}_{module.replace('.', '_')}_{where}"

    def _init(self) -> None:
        """Import the handler module (the "init phase"); called with the environment installed."""
        spec = self.spec
        module_path, attr = _split_handler(spec.handler)
        name = self.module_name
        if spec.inline_code is not None:
            module = ModuleType(name)
            module.__file__ = f"<inline code of {spec.logical_id}>"
            sys.modules[name] = module
            try:
                exec(compile(spec.inline_code, module.__file__, "exec"), module.__dict__)  # the function's own code
            except Exception as exc:
                sys.modules.pop(name, None)
                raise self._init_error(exc, module_path) from exc
        else:
            if spec.code_uri is None:
                raise FunctionError("Runtime.InvalidEntrypoint",
                                    f"{spec.logical_id} has no local code (CodeUri on S3 or an image)")
            base = spec.code_uri.joinpath(*module_path.split("."))
            file = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
            if not file.is_file():
                raise FunctionError("Runtime.ImportModuleError",
                                    f"Unable to import module '{module_path}': No module named '{module_path}'")
            import_spec = importlib.util.spec_from_file_location(name, file)
            assert import_spec is not None and import_spec.loader is not None
            module = importlib.util.module_from_spec(import_spec)
            sys.modules[name] = module  # before exec: dataclasses and pickling look the module up by name
            try:
                import_spec.loader.exec_module(module)
            except Exception as exc:
                sys.modules.pop(name, None)
                raise self._init_error(exc, module_path) from exc
        handler = getattr(module, attr, None)
        if handler is None or not callable(handler):
            raise FunctionError("Runtime.HandlerNotFound", f"Handler '{attr}' missing on module '{module_path}'")
        self._module = module
        self._handler = handler

    @staticmethod
    def _init_error(exc: Exception, module_path: str) -> FunctionError:
        trace = traceback.format_exception(exc)
        if isinstance(exc, ImportError):
            return FunctionError("Runtime.ImportModuleError", f"Unable to import module '{module_path}': {exc}",
                                 trace)
        return FunctionError(type(exc).__name__, str(exc), trace)

    def _discard(self) -> None:
        """Forget the sandbox (after a timeout): the next invocation imports the module afresh."""
        self._handler = None
        self._module = None
        self._stale = True
        sys.modules.pop(self.module_name, None)
        self._new_log_stream()

    @property
    def cold(self) -> bool:
        """True until the handler module has been imported."""
        return self._handler is None

    def invoke(self, event: Any, *, request_id: str | None = None) -> Any:
        """Invoke with ``event`` (any JSON value); return the JSON-decoded response or raise FunctionError."""
        payload = json.loads(json.dumps(event, default=_json_default))  # the handler gets its own copy, as on Lambda
        with GATE.enter(self):
            if self._handler is None:
                self._init()
            context = LambdaContext(
                function_name=self.spec.name, invoked_function_arn=self.arn, memory_limit_in_mb=self.spec.memory,
                timeout_s=self.timeout_s, log_group_name=self.log_group_name, log_stream_name=self.log_stream_name,
                clock=self.clock, aws_request_id=request_id)
            self.invocations += 1
            outcome: dict[str, Any] = {}
            handler = self._handler

            def run() -> None:
                try:
                    outcome["result"] = handler(payload, context)
                except BaseException as exc:  # everything a handler raises is a function error
                    outcome["error"] = exc

            job = POOL.submit(run)
            # Poll with the (injectable) clock, so the deadline the handler sees is the one enforced.
            while not job.done.is_set():
                remaining = context.deadline - self.clock.monotonic()
                if remaining <= 0:
                    break
                job.done.wait(min(remaining, 0.05))
            if not job.done.is_set():
                job.abandon()
                self._discard()
                raise FunctionError("Sandbox.Timedout", f"Task timed out after {self.timeout_s:.2f} seconds")
        if "error" in outcome:
            exc = outcome["error"]
            raise FunctionError(type(exc).__name__, str(exc), traceback.format_exception(exc)) from exc
        try:
            return json.loads(json.dumps(outcome.get("result"), default=_json_default))
        except (TypeError, ValueError) as exc:
            raise FunctionError("Runtime.MarshalError", f"Unable to marshal response: {exc}") from exc


class Invoker:
    """Invoke the functions of a template by logical id or name.

    ::

        invoker = Invoker(template.functions(), region=..., account_id=..., base_env=aws_env(endpoint, region))
        response = invoker.invoke("IngestFunction", event)
    """

    def __init__(self, functions: Iterable[FunctionSpec], *, region: str, account_id: str = "123456789012",
                 base_env: Mapping[str, str] | None = None, clock: Clock | None = None,
                 timeouts: Mapping[str, float] | None = None) -> None:
        self.functions: dict[str, LocalFunction] = {}
        for spec in functions:
            self.functions[spec.logical_id] = LocalFunction(
                spec, region=region, account_id=account_id, base_env=base_env, clock=clock,
                timeout_s=(timeouts or {}).get(spec.logical_id))
        self._by_name = {fn.spec.name: fn for fn in self.functions.values()}

    def function(self, name: str) -> LocalFunction:
        """A function's sandbox by logical id, physical name or ARN."""
        key = name.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in name else name
        fn = self.functions.get(key) or self._by_name.get(key)
        if fn is None:
            raise KeyError(f"no function {name!r} (known: {', '.join(self.functions)})")
        return fn

    def invoke(self, name: str, event: Any, *, request_id: str | None = None) -> Any:
        """Invoke one function synchronously (``RequestResponse``)."""
        return self.function(name).invoke(event, request_id=request_id)
