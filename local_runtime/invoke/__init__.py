"""Running a template's functions as Lambda would: environment, context, timeout, cold and warm starts."""

from local_runtime.invoke.function import FunctionError, Invoker, LambdaContext, LocalFunction

__all__ = ["FunctionError", "Invoker", "LambdaContext", "LocalFunction"]
