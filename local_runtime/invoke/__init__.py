"""Running a template's functions as Lambda would: environment, context, timeout, cold and warm starts.

:mod:`.function` holds the sandbox (:class:`LocalFunction`) and :class:`Invoker`; :mod:`.context` what the
handler sees (:class:`LambdaContext`, :class:`FunctionError`); :mod:`.workers` the gate and thread pool.
"""

from local_runtime.invoke.context import Clock, FunctionError, LambdaContext, SystemClock
from local_runtime.invoke.function import Invoker, LocalFunction

__all__ = ["Clock", "FunctionError", "Invoker", "LambdaContext", "LocalFunction", "SystemClock"]
