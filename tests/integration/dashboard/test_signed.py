"""The one signed-token helper behind cursors and sessions, without a stack."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.integration.dashboard.support import DASHBOARD_DIR

SECRET = b"unit-secret"


@pytest.fixture(scope="module")
def signed() -> Any:
    if str(DASHBOARD_DIR) not in sys.path:  # as load_app does, without importing the app
        sys.path.insert(0, str(DASHBOARD_DIR))
    import chalicelib.signed

    return chalicelib.signed


def test_a_token_verifies_under_its_own_purpose_only(signed: Any) -> None:
    body = {"m": "m-1", "k": "abc", "exp": 1}
    assert signed.CURSORS.verify(SECRET, signed.CURSORS.sign(SECRET, body)) == body
    assert signed.SESSIONS.verify(SECRET, signed.SESSIONS.sign(SECRET, body)) == body
    with pytest.raises(signed.Forged):
        signed.CURSORS.verify(SECRET, signed.SESSIONS.sign(SECRET, body))
    with pytest.raises(signed.Forged):
        signed.SESSIONS.verify(SECRET, signed.CURSORS.sign(SECRET, body))
    with pytest.raises(signed.Forged):
        signed.CURSORS.verify(b"another-secret", signed.CURSORS.sign(SECRET, body))


def test_malformed_tokens_are_told_apart_from_forged_ones(signed: Any) -> None:
    token = signed.CURSORS.sign(SECRET, {"k": "x" * 3000})
    for bad in ("no-dot", "a.b.c", token):  # the last one is longer than a cursor may be
        with pytest.raises(signed.Malformed):
            signed.CURSORS.verify(SECRET, bad)
    payload, mac = signed.SESSIONS.sign(SECRET, {"m": "m-1"}).split(".")
    with pytest.raises(signed.Forged):
        signed.SESSIONS.verify(SECRET, f"{payload}A.{mac}")
