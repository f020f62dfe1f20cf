"""An HTTP request -> the event API Gateway's Lambda proxy integration sends: payload format 1.0 (REST APIs, and
HTTP APIs asking for it) or 2.0 (HTTP APIs' default).

What differs between the two, as AWS documents it: 1.0 keeps header names as sent, gives the last value of a
repeated header or query parameter in ``headers`` / ``queryStringParameters`` and every value in the
``multiValue*`` fields, and sends ``null`` for what is absent; 2.0 lower-cases header names, joins repeated
values with commas, moves ``Cookie`` into a ``cookies`` list and leaves absent fields out.

Paths: a REST API passes ``path`` as the client sent it (still percent-encoded); an HTTP API decodes it. Path
parameters and query parameters are decoded in both (``+`` is not a space: API Gateway does not decode it).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from local_runtime.apigateway.routes import RouteMatch
from local_runtime.apigateway.spec import ApiRoute

__all__ = ["HttpRequest", "build_event", "is_binary"]

# Media types an HTTP API passes as text; every other body arrives base64-encoded (form posts included).
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")


@dataclass(frozen=True)
class HttpRequest:
    """One request as the server read it: the raw path (percent-encoded, no query), the raw query string and
    the headers in the order and case they were sent."""

    method: str
    raw_path: str
    query_string: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    port: int
    protocol: str = "HTTP/1.1"
    scheme: str = "http"

    def header(self, name: str) -> str | None:
        """The last value of a header (any case), or None."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None


def build_event(request: HttpRequest, match: RouteMatch, *, account_id: str, request_id: str,
                now_s: float) -> dict[str, Any]:
    """The event for ``match.route``'s function: payload format 1.0 or 2.0 as the route says."""
    if match.route.payload_format == "2.0":
        return _event_v2(request, match, account_id=account_id, request_id=request_id, now_s=now_s)
    return _event_v1(request, match, account_id=account_id, request_id=request_id, now_s=now_s)


def is_binary(content_type: str | None, body: bytes, route: ApiRoute) -> bool:
    """Whether API Gateway would pass ``body`` base64-encoded: not UTF-8, or (REST) a type among the API's
    ``BinaryMediaTypes``, or (HTTP API) not a text type."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if route.kind == "HTTP":
        textual = media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml"))
        return not textual
    major = media.split("/", 1)[0]
    return any(t in (media, "*/*", f"{major}/*") for t in route.binary_media_types)


def _query(raw: str) -> list[tuple[str, str]]:
    pairs = []
    for piece in raw.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def _forwarded(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's headers with the X-Forwarded-* headers API Gateway sets (a client's own are replaced, but
    X-Forwarded-For is appended to, as a proxy does)."""
    drop = {"x-forwarded-port", "x-forwarded-proto", "x-forwarded-for"}
    headers = [(k, v) for k, v in request.headers if k.lower() not in drop]
    sent_for = request.header("x-forwarded-for")
    headers += [
        ("X-Forwarded-For", f"{sent_for}, {request.source_ip}" if sent_for else request.source_ip),
        ("X-Forwarded-Port", str(request.port)),
        ("X-Forwarded-Proto", request.scheme),
    ]
    return headers


def _body(request: HttpRequest, route: ApiRoute) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if is_binary(request.header("content-type"), request.body, route):
        return base64.b64encode(request.body).decode("ascii"), True
    return request.body.decode("utf-8"), False


def _domain(request: HttpRequest) -> tuple[str, str]:
    """``domainName`` (the Host header without its port) and ``domainPrefix`` (its first label)."""
    host = request.header("host") or "localhost"
    host = host.split("]", 1)[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    return host, host.split(".", 1)[0]


def _resource_id(route: ApiRoute) -> str:
    return hashlib.sha256(f"{route.api_id}{route.path}".encode()).hexdigest()[:6]


def _clock(now_s: float) -> tuple[str, int]:
    """API Gateway's request time (``12/Mar/2020:19:03:58 +0000``) and epoch milliseconds."""
    moment = datetime.fromtimestamp(now_s, UTC)
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    text = f"{moment:%d}/{months[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"
    return text, int(now_s * 1000)


def _event_v1(request: HttpRequest, match: RouteMatch, *, account_id: str, request_id: str,
              now_s: float) -> dict[str, Any]:
    route = match.route
    http_api = route.kind == "HTTP"
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in _forwarded(request):
        key = name.lower() if http_api else name
        headers[key] = value
        multi_headers.setdefault(key, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in _query(request.query_string):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    path = unquote(match.path) if http_api else match.path
    body, encoded = _body(request, route)
    domain, prefix = _domain(request)
    request_time, epoch_ms = _clock(now_s)
    resource = route.path
    event: dict[str, Any] = {"version": "1.0"} if http_api else {}
    event |= {
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": match.path_parameters or None,
        "stageVariables": dict(route.stage_variables) or None,
        "requestContext": {
            "accountId": account_id,
            "apiId": route.api_id,
            "domainName": domain,
            "domainPrefix": prefix,
            "extendedRequestId": request_id,
            "httpMethod": request.method,
            "identity": {
                "accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                "principalOrgId": None, "sourceIp": request.source_ip, "user": None,
                "userAgent": request.header("user-agent"), "userArn": None,
            },
            # What the client asked for: on an execute-api URL a REST API's stage is the first segment.
            "path": path if http_api else f"/{route.stage}{path}",
            "protocol": request.protocol,
            "requestId": request_id,
            "requestTime": request_time,
            "requestTimeEpoch": epoch_ms,
            "resourceId": None if http_api else _resource_id(route),
            "resourcePath": resource,
            "stage": route.stage,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }
    return event


def _event_v2(request: HttpRequest, match: RouteMatch, *, account_id: str, request_id: str,
              now_s: float) -> dict[str, Any]:
    route = match.route
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in _forwarded(request):
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in _query(request.query_string):
        query[name] = f"{query[name]},{value}" if name in query else value
    path = unquote(match.path)
    body, encoded = _body(request, route)
    domain, prefix = _domain(request)
    request_time, epoch_ms = _clock(now_s)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": request.query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": route.api_id,
        "domainName": domain,
        "domainPrefix": prefix,
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or "",
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": route.stage,
        "time": request_time,
        "timeEpoch": epoch_ms,
    }
    if body is not None:
        event["body"] = body
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    event["isBase64Encoded"] = encoded
    if route.stage_variables:
        event["stageVariables"] = dict(route.stage_variables)
    return event
