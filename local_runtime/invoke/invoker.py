"""The template's functions, invoked by logical id, name or ARN: :class:`Invoker`.

::

    with Invoker(template.functions(), region=..., base_env=aws_env(endpoint, region)) as invoker:
        response = invoker.invoke("IngestFunction", event)

Thread-safe: mappings, schedules and HTTP servers call :meth:`Invoker.invoke` from many threads at once;
invocations of different functions, and several of one function, run in parallel worker processes.
:meth:`Invoker.close` kills every worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from local_runtime.cloudformation import FunctionSpec
from local_runtime.invoke.context import Clock
from local_runtime.invoke.function import LocalFunction
from local_runtime.invoke.logsink import LogSink

__all__ = ["Invoker"]


class Invoker:
    """One :class:`LocalFunction` (pool of workers) per function.

    ``timeouts`` overrides functions' ``Timeout`` by logical id; ``log_sink`` receives every worker's output
    and Lambda's platform lines (default: ``[Function] line`` on stdout); ``build_root`` is the project
    directory under which ``.aws-sam/local-build`` holds functions' dependencies (default: the nearest
    directory above each function's code with a template); ``runtime_client`` is ``auto`` (awslambdaric where
    the interpreter has it), ``awslambdaric`` or ``bootstrap`` (our own client); ``search_path`` is the PATH
    in which ``python3.X`` interpreters are looked for.
    """

    def __init__(self, functions: Iterable[FunctionSpec], *, region: str, account_id: str = "123456789012",
                 base_env: Mapping[str, str] | None = None, clock: Clock | None = None,
                 timeouts: Mapping[str, float] | None = None, log_sink: LogSink | None = None,
                 build_root: Path | None = None, runtime_client: str | None = None,
                 search_path: str | None = None) -> None:
        self.functions: dict[str, LocalFunction] = {}
        for spec in functions:
            self.functions[spec.logical_id] = LocalFunction(
                spec, region=region, account_id=account_id, base_env=base_env, clock=clock,
                timeout_s=(timeouts or {}).get(spec.logical_id), log_sink=log_sink, build_root=build_root,
                runtime_client=runtime_client, search_path=search_path)
        self._by_name = {fn.spec.name: fn for fn in self.functions.values()}

    def function(self, name: str) -> LocalFunction:
        """A function by logical id, physical name or ARN."""
        key = name.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in name else name
        fn = self.functions.get(key) or self._by_name.get(key)
        if fn is None:
            raise KeyError(f"no function {name!r} (known: {', '.join(self.functions)})")
        return fn

    def invoke(self, name: str, event: Any, *, request_id: str | None = None) -> Any:
        """Invoke one function synchronously (``RequestResponse``): its JSON-decoded response, or FunctionError."""
        return self.function(name).invoke(event, request_id=request_id)

    def close(self) -> None:
        """Kill every function's workers (calls in flight fail, later calls too). Quick and idempotent."""
        for fn in self.functions.values():
            fn.close()

    def __enter__(self) -> Invoker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
