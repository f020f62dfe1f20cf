"""API Gateway, emulated locally: a SAM template's ``Api`` (REST, payload 1.0) and ``HttpApi`` (payload 2.0 or
1.0) events served over HTTP without Docker, as ``sam local start-api`` does.

Modules, in request order: :mod:`.spec` (:class:`ApiRoute`, built from a template by
:func:`local_runtime.cloudformation.api_events.api_routes`), :mod:`.routes` (route precedence), :mod:`.events`
(request -> proxy event), :mod:`.responses` (function result -> HTTP response, API Gateway's own errors),
:mod:`.gateway` (one request through all of them) and :mod:`.server` (the threaded HTTP/1.1 server).
See docs/API_GATEWAY_LOCAL.md.
"""

from local_runtime.apigateway.events import HttpRequest, build_event
from local_runtime.apigateway.gateway import Gateway, Invoke
from local_runtime.apigateway.responses import HttpResponse, MalformedResponse, gateway_error, http_response
from local_runtime.apigateway.routes import RouteMatch, RouteTable
from local_runtime.apigateway.server import MAX_BODY_BYTES, ApiGatewayServer
from local_runtime.apigateway.spec import ApiRoute

__all__ = [
    "MAX_BODY_BYTES",
    "ApiGatewayServer",
    "ApiRoute",
    "Gateway",
    "HttpRequest",
    "HttpResponse",
    "Invoke",
    "MalformedResponse",
    "RouteMatch",
    "RouteTable",
    "build_event",
    "gateway_error",
    "http_response",
]
