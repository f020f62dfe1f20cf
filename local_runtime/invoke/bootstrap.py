"""A small Lambda runtime client for interpreters that cannot import ``awslambdaric``.

Run by file path, ``python -u bootstrap.py <module.handler>``, with ``AWS_LAMBDA_RUNTIME_API`` set: it speaks
the Runtime API like AWS's client (same error payloads and types, same log format, same context object), so a
worker behaves the same under either. Standard library only, importing nothing from ``local_runtime``, and
Python 3.8-compatible: it runs on whatever interpreter a function's ``Runtime`` selected.

Like awslambdaric it imports the handler *before* asking for the first event (so the first
``GET /next`` marks the end of init), reports an init failure to ``/runtime/init/error`` and exits 1, and
keeps one HTTP connection open to the Runtime API.
"""

from __future__ import annotations

import decimal
import http.client
import importlib
import json
import logging
import math
import os
import socket
import sys
import time
import traceback

_API = "/2018-06-01/runtime"
_UNICODE_JSON_RUNTIMES = {f"AWS_Lambda_python3.{minor}" for minor in range(12, 20)}  # awslambdaric's rule
_NBSP = "\u00a0"  # awslambdaric indents tracebacks with it, and joins their lines with \r (one log event)


class Fault(Exception):
    """A runtime error (not the function's): its Lambda error type, message and stack trace."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class LambdaContext:
    """The ``context`` argument, with the attributes awslambdaric's has."""

    def __init__(self, request_id, deadline_ms, function_arn, tenant_id=None):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = function_arn
        self.tenant_id = tenant_id
        self.client_context = None
        self.identity = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self):
        return f"LambdaContext([aws_request_id={self.aws_request_id}, function_name={self.function_name}])"


class RuntimeApi:
    """One kept-alive connection to the Runtime API (reopened if the runtime closed it)."""

    def __init__(self, address):
        self._address = address
        self._conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._address)
                self._conn.connect()
                self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self._conn.request(method, _API + path, body=body, headers=headers or {})
                response = self._conn.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (http.client.HTTPException, OSError):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def next(self):
        status, headers, body = self.request("GET", "/invocation/next")
        if status != 200:
            raise RuntimeError(f"GET /invocation/next answered {status}: {body!r}")
        return {k.lower(): v for k, v in headers.items()}, body

    def post(self, path, payload, content_type="application/json", error_type=None):
        headers = {"Content-Type": content_type}
        if error_type:
            headers["Lambda-Runtime-Function-Error-Type"] = error_type
        self.request("POST", path, body=payload, headers=headers)


def _encode_default(value):
    if isinstance(value, decimal.Decimal):  # as awslambdaric: a number, NaN stays NaN
        if value.is_nan():
            return math.nan
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def marshal(response):
    """(body, content type) of a handler's return value, or a Runtime.MarshalError Fault."""
    if isinstance(response, bytes):
        return response, "application/unknown"
    ascii_only = os.environ.get("AWS_EXECUTION_ENV") not in _UNICODE_JSON_RUNTIMES
    try:
        return json.dumps(response, default=_encode_default, ensure_ascii=ascii_only).encode(), "application/json"
    except (TypeError, ValueError) as exc:
        raise Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


def load_handler(handler):
    """Import the handler's module and return the handler (a Fault named as awslambdaric names it)."""
    try:
        module_name, attr = handler.rsplit(".", 1)
    except ValueError as exc:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise Fault("Runtime.BuiltInModuleConflict",
                    f"Cannot use built-in module {module_name} as a handler module")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault("Runtime.UserCodeSyntaxError",
                    f"Syntax error in module '{module_name}': {exc}", trace) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise Fault("Runtime.HandlerNotFound",
                    f"Handler '{attr}' missing on module '{module_name}'") from None


def error_payload(exc, request_id=""):
    """Lambda's error shape for ``exc`` (a Fault or the function's own exception)."""
    if isinstance(exc, Fault):
        return {"errorMessage": exc.message, "errorType": exc.error_type, "requestId": request_id,
                "stackTrace": exc.trace}
    frames = list(traceback.extract_tb(exc.__traceback__))
    while frames and frames[0].filename == __file__:  # the runtime's own frames are not the function's
        frames.pop(0)
    return {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": request_id,
            "stackTrace": traceback.format_list(frames)}


def log_error(payload):
    """``[ERROR] Type: message`` and the traceback, as one log event (lines joined by \\r)."""
    lines = ["[ERROR] {}: {}".format(payload["errorType"], payload["errorMessage"])]
    if payload.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        for element in payload["stackTrace"]:
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append(_NBSP * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")
    sys.stdout.flush()


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = _RequestIdFilter.request_id
        return True


def setup_logging():
    """The root logger writes to stdout in Lambda's text format."""
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.terminator = ""
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)


def handle(api, handler, headers, body):
    """Run one invocation and post its response or error."""
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    _RequestIdFilter.request_id = request_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    try:
        context = LambdaContext(request_id, int(headers.get("lambda-runtime-deadline-ms") or 0),
                                headers.get("lambda-runtime-invoked-function-arn"),
                                headers.get("lambda-runtime-aws-tenant-id"))
        if headers.get("content-type", "application/json") == "application/json":
            try:
                event = json.loads(body)
            except ValueError as exc:
                raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None
        else:
            event = body
        result, content_type = marshal(handler(event, context))
    except Exception as exc:
        payload = error_payload(exc, request_id)
        log_error(payload)
        sys.stderr.flush()
        api.post(f"/invocation/{request_id}/error", json.dumps(payload).encode(),
                 error_type=payload["errorType"])
        return
    sys.stdout.flush()  # everything printed is in the pipe before the response arrives (log attribution)
    sys.stderr.flush()
    api.post(f"/invocation/{request_id}/response", result, content_type)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: bootstrap.py <module.handler>\n")
        return 2
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = task_root  # this file's directory must not shadow the function's modules
    else:
        sys.path.insert(0, task_root)
    api = RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"])
    setup_logging()
    try:
        handler = load_handler(argv[1])
    except Exception as exc:
        payload = error_payload(exc)
        log_error(payload)
        api.post("/init/error", json.dumps(payload).encode(), error_type=payload["errorType"])
        return 1
    while True:
        headers, body = api.next()
        handle(api, handler, headers, body)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
