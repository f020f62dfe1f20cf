"""Webhook signatures: HMAC-SHA256 over ``"<timestamp>.<body>"``, sent as
``X-Logistics-Signature: t=<unix seconds>,v1=<hex digest>`` (the scheme receivers verify)."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Logistics-Signature"
TOLERANCE_S = 300


class SignatureError(ValueError):
    """The signature is missing, malformed, stale or does not match."""


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body`` signed with ``secret`` at ``timestamp`` (now by default)."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify(secret: str, body: bytes, header: str, now: int | None = None, tolerance_s: int = TOLERANCE_S) -> int:
    """Check a signature header; returns its timestamp or raises ``SignatureError``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        ts, given = int(parts["t"]), parts["v1"]
    except (KeyError, ValueError) as exc:
        raise SignatureError(f"malformed signature header: {header!r}") from exc
    current = int(time.time()) if now is None else now
    if abs(current - ts) > tolerance_s:
        raise SignatureError(f"signature timestamp {ts} is outside the {tolerance_s}s tolerance")
    expected = sign(secret, body, ts).split("v1=", 1)[1]
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise SignatureError("signature does not match the body and timestamp")
    return ts
