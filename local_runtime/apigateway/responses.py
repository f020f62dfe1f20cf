"""A function's result -> the HTTP response API Gateway sends, and API Gateway's own error answers.

Payload format 1.0 wants ``{statusCode, headers, multiValueHeaders, body, isBase64Encoded}`` and nothing
else: any other key, a missing or invalid ``statusCode``, a non-string ``body`` or a non-object result is a
malformed response. Format 2.0 also takes ``cookies`` (each becomes a ``Set-Cookie`` header) and infers the
rest when the result has no ``statusCode``: status 200, ``Content-Type: application/json``, the result (a
string as is, anything else as JSON) as the body. ``headers`` and ``multiValueHeaders`` are merged, a pair
given in both sent once. A body with ``isBase64Encoded`` is decoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from local_runtime.apigateway.spec import ApiKind, PayloadFormat

__all__ = ["GatewayError", "HttpResponse", "MalformedResponse", "gateway_error", "http_response"]

GatewayError = Literal["not_found", "integration_failure", "timeout", "too_large"]

# (status, message) of API Gateway's own answers, per API kind. REST APIs answer an unknown route as if it
# were an unsigned call to a protected one; a failed Lambda integration is a 502 there and a 500 on HTTP APIs.
_ERRORS: dict[ApiKind, dict[GatewayError, tuple[int, str]]] = {
    "REST": {
        "not_found": (403, "Missing Authentication Token"),
        "integration_failure": (502, "Internal server error"),
        "timeout": (504, "Endpoint request timed out"),
        "too_large": (413, "Request Too Long"),
    },
    "HTTP": {
        "not_found": (404, "Not Found"),
        "integration_failure": (500, "Internal Server Error"),
        "timeout": (503, "Service Unavailable"),
        "too_large": (413, "Request Entity Too Large"),
    },
}
_ALLOWED = {
    "1.0": frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}),
    "2.0": frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"}),
}
# Set by the server itself (the body's length, one connection's framing).
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field-name


class MalformedResponse(ValueError):
    """The function answered something API Gateway cannot turn into an HTTP response."""


@dataclass(frozen=True)
class HttpResponse:
    """Status, headers (in order, repeats allowed) and the body bytes."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header (any case), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def gateway_error(kind: ApiKind, error: GatewayError) -> HttpResponse:
    """API Gateway's own answer, e.g. REST's 403 ``{"message":"Missing Authentication Token"}``."""
    status, message = _ERRORS[kind][error]
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("Content-Type", "application/json")], body)


def http_response(result: Any, payload_format: PayloadFormat) -> HttpResponse:
    """The HTTP response for a function's (JSON-decoded) result; :class:`MalformedResponse` if there is none."""
    if payload_format == "2.0" and not (isinstance(result, dict) and "statusCode" in result):
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("Content-Type", "application/json")], body.encode())
    if not isinstance(result, dict):
        raise MalformedResponse(f"the result is a {type(result).__name__}, not an object")
    unknown = set(result) - _ALLOWED[payload_format]
    if unknown:
        raise MalformedResponse(f"unexpected keys {sorted(unknown)}")
    status = _status(result.get("statusCode"))
    headers = _headers(result.get("headers"), result.get("multiValueHeaders"))
    if payload_format == "2.0":
        headers += [("Set-Cookie", cookie) for cookie in _strings(result.get("cookies"), "cookies")]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, _body(result.get("body"), result.get("isBase64Encoded")))


def _status(raw: Any) -> int:
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or not 100 <= raw <= 599:
        raise MalformedResponse(f"statusCode {raw!r} is not an HTTP status")
    return raw


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResponse(f"{where} is a {type(value).__name__}, not a string")


def _strings(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise MalformedResponse(f"{where} is not a list")
    return [_scalar(v, where) for v in raw]


def _headers(single: Any, multi: Any) -> list[tuple[str, str]]:
    for where, value in (("headers", single), ("multiValueHeaders", multi)):
        if value is not None and not isinstance(value, dict):
            raise MalformedResponse(f"{where} is not an object")
    merged = [(str(name), v) for name, values in (multi or {}).items()
              for v in _strings(values, f"multiValueHeaders.{name}")]
    for name, value in (single or {}).items():
        pair = (str(name), _scalar(value, f"headers.{name}"))
        if pair not in merged:
            merged.append(pair)
    for name, value in merged:
        if not _TOKEN.fullmatch(name) or "\r" in value or "\n" in value:
            raise MalformedResponse(f"header {name!r}: {value!r} cannot be sent")  # would split the response
    return [(k, v) for k, v in merged if k.lower() not in _HOP_BY_HOP]


def _body(body: Any, encoded: Any) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResponse(f"body is a {type(body).__name__}, not a string")
    if encoded not in (None, True, False):
        raise MalformedResponse(f"isBase64Encoded {encoded!r} is not a boolean")
    if encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedResponse(f"body is not valid base64: {exc}") from exc
    return body.encode("utf-8")
