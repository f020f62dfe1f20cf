"""Signed tokens: ``<base64url(json)>.<base64url(hmac-sha256)>``, for cursors and sessions alike.

Each kind of token signs under its own purpose label, so a value signed as one kind never verifies
as another even though they share the deployment's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any


class InvalidToken(ValueError):
    """A token that cannot be trusted; ``Forged`` when only its signature is wrong."""


class Malformed(InvalidToken):
    """Not shaped like a token, too long, or its payload is not JSON."""


class Forged(InvalidToken):
    """Shaped like a token, but the signature does not match (altered, or from another secret)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Signer:
    """One kind of signed token: its purpose label, how much of the MAC it keeps, its longest form."""

    purpose: str
    mac_bytes: int
    max_chars: int

    def _mac(self, secret: bytes, payload: str) -> str:
        digest = hmac.new(secret, f"{self.purpose}:".encode() + payload.encode(), hashlib.sha256).digest()
        return _b64(digest[: self.mac_bytes])

    def sign(self, secret: bytes, body: dict[str, Any]) -> str:
        """``body`` as compact JSON, signed."""
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(secret, payload)}"

    def verify(self, secret: bytes, token: str) -> Any:
        """The JSON inside ``token`` once its signature checks out; raises ``Malformed`` or ``Forged``.

        The signature is checked before the payload is parsed, so nothing unsigned is ever decoded.
        """
        if len(token) > self.max_chars or not token.isascii() or token.count(".") != 1:
            raise Malformed(self.purpose)  # (hmac.compare_digest refuses non-ASCII text with a TypeError)
        payload, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(secret, payload)):
            raise Forged(self.purpose)
        try:
            return json.loads(_unb64(payload))
        except ValueError as exc:
            raise Malformed(self.purpose) from exc


# A cursor travels in URLs, so it keeps 18 bytes (144 bits) of the MAC; a session cookie keeps all 32.
CURSORS = Signer("cursor", mac_bytes=18, max_chars=2048)
SESSIONS = Signer("session", mac_bytes=32, max_chars=1024)
