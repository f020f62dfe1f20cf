"""Running a template's functions as Lambda would: one worker process per execution environment.

:mod:`.invoker` holds :class:`Invoker` (the functions of a template); :mod:`.function` :class:`LocalFunction`
(one function's pool of workers, timeouts, crashes, platform log lines); :mod:`.worker` one worker process;
:mod:`.runtime_api` the Lambda Runtime API it talks to; :mod:`.bootstrap` our fallback runtime client;
:mod:`.environment`, :mod:`.interpreters` and :mod:`.build` what a worker runs with; :mod:`.output` and
:mod:`.logsink` where its output goes; :mod:`.context` the errors (:class:`FunctionError`) and a clock.
See docs/FUNCTION_SANDBOX.md.
"""

from local_runtime.invoke.context import Clock, FunctionError, LambdaContext, SystemClock
from local_runtime.invoke.function import LocalFunction
from local_runtime.invoke.interpreters import found_interpreters
from local_runtime.invoke.invoker import Invoker
from local_runtime.invoke.logsink import ListSink, LogSink, StreamSink

__all__ = ["Clock", "FunctionError", "Invoker", "LambdaContext", "ListSink", "LocalFunction", "LogSink",
           "StreamSink", "SystemClock", "found_interpreters"]
