"""One request through API Gateway, without the HTTP transport: route, event, invocation, response.

A function error (the invoker raises), a malformed result or an invocation longer than the route's
integration timeout becomes API Gateway's own error answer, and the reason is logged, as API Gateway's
execution log would hold it. A timed-out invocation is not stopped (it cannot be): it finishes in the
background and its result is dropped.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from local_runtime.apigateway.events import HttpRequest, build_event
from local_runtime.apigateway.responses import HttpResponse, MalformedResponse, gateway_error, http_response
from local_runtime.apigateway.routes import RouteMatch, RouteTable
from local_runtime.apigateway.spec import ApiRoute

__all__ = ["Gateway", "Invoke"]

log = logging.getLogger(__name__)

Invoke = Callable[[str, dict[str, Any]], Any]
"""``invoke(function_logical_id, event) -> result``, raising on a function error (the platform's
``Invoker.invoke``)."""


class Gateway:
    """The routes of a template's APIs and the function invoker behind them."""

    def __init__(self, routes: Iterable[ApiRoute], invoke: Invoke, *, account_id: str = "123456789012",
                 clock: Callable[[], float] = time.time) -> None:
        self.table = RouteTable(routes)
        self._invoke = invoke
        self._account_id = account_id
        self._clock = clock

    def handle(self, request: HttpRequest) -> HttpResponse:
        """The response API Gateway would send for ``request`` (never raises for a function's failure)."""
        match = self.table.match(request.method, request.raw_path)
        if match is None:
            return gateway_error(self.table.kind, "not_found")
        request_id = str(uuid.uuid4())
        response = self._integrate(request, match, request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def _integrate(self, request: HttpRequest, match: RouteMatch, request_id: str) -> HttpResponse:
        route = match.route
        event = build_event(request, match, account_id=self._account_id, request_id=request_id, now_s=self._clock())
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                outcome["result"] = self._invoke(route.function_logical_id, event)
            except BaseException as exc:  # the invoker's FunctionError, or anything it failed with
                outcome["error"] = exc
            finally:
                done.set()

        # A thread of its own, so the integration timeout holds whatever the invoker does.
        threading.Thread(target=run, name=f"apigw-{route.function_logical_id}", daemon=True).start()
        where = f"{request.method} {request.raw_path} -> {route.function_logical_id} ({route.event_name})"
        if not done.wait(route.timeout_s):
            log.error("%s: integration timed out after %.1f s (request %s)", where, route.timeout_s, request_id)
            return gateway_error(route.kind, "timeout")
        if "error" in outcome:
            log.error("%s: function error (request %s): %s", where, request_id, outcome["error"])
            return gateway_error(route.kind, "integration_failure")
        try:
            return http_response(outcome["result"], route.payload_format)
        except MalformedResponse as exc:
            log.error("%s: malformed Lambda proxy response (request %s): %s", where, request_id, exc)
            return gateway_error(route.kind, "integration_failure")
