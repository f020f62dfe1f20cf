"""Opaque pagination cursors: a DynamoDB LastEvaluatedKey, signed and bound to merchant and query.

``<base64url(json)>.<base64url(hmac)>``: the JSON holds the merchant, the index, a fingerprint of the
filters and the typed key. A cursor that was altered, or replayed against another merchant or
another filter, is rejected with a 400 instead of silently paging something else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.http import bad_request

MAX_CURSOR_CHARS = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(filters: dict[str, Any]) -> str:
    text = json.dumps({k: v for k, v in sorted(filters.items()) if v is not None}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, b"cursor:" + payload.encode(), hashlib.sha256).digest()[:18])


def encode(secret: bytes, merchant_id: str, scope: str, key: dict[str, Any]) -> str:
    payload = _b64(json.dumps({"v": 1, "m": merchant_id, "s": scope, "k": key}, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def decode(secret: bytes, merchant_id: str, scope: str, cursor: str, key_attrs: frozenset[str]) -> dict[str, Any]:
    """The typed LastEvaluatedKey inside a cursor, after checking signature, owner, scope and shape."""
    if len(cursor) > MAX_CURSOR_CHARS or cursor.count(".") != 1:
        raise bad_request("cursor is malformed", "cursor")
    payload, mac = cursor.split(".")
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise bad_request("cursor signature does not match (altered, or from another deployment)", "cursor")
    try:
        data = json.loads(_unb64(payload))
    except ValueError as exc:
        raise bad_request("cursor is malformed", "cursor") from exc
    if data.get("m") != merchant_id or data.get("s") != scope:
        raise bad_request("cursor belongs to another query; start again without it", "cursor")
    key = data.get("k")
    if not isinstance(key, dict) or set(key) != key_attrs:
        raise bad_request("cursor is malformed", "cursor")
    for value in key.values():
        if not (isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str)):
            raise bad_request("cursor is malformed", "cursor")
    return key
