"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>", header "t=<unix seconds>,v1=<hex>"."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from logistics.webhook_signature import HEADER, TOLERANCE_S, SignatureError, sign, verify

SECRET = "whsec_test_0123456789"
BODY = b'{"shipment_id":"s-1","status":"DELIVERED"}'
NOW = 1_714_550_400  # 2024-05-01T08:00:00Z


def test_header_name_and_tolerance():
    assert HEADER == "X-Logistics-Signature"
    assert TOLERANCE_S == 300


def test_sign_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_known_vectors():
    # computed independently: printf '1.body' | openssl dgst -sha256 -hmac key
    assert sign("key", b"body", 1) == "t=1,v1=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5"
    assert sign(SECRET, b'{"a":1}', NOW) == (
        f"t={NOW},v1=c69579ade7c209e3e6f48c77fc693a1e3fa286424a4915039b86d11b8988e832"
    )


def test_roundtrip_returns_the_timestamp():
    assert verify(SECRET, BODY, sign(SECRET, BODY, NOW), now=NOW) == NOW


def test_roundtrip_with_the_clock():
    header = sign(SECRET, BODY)
    assert abs(verify(SECRET, BODY, header) - int(time.time())) <= 1


@pytest.mark.parametrize("body", [b"", b"\x00\xff binary", "ünïcödé €".encode(), b"x" * 100_000])
def test_roundtrip_for_any_body(body: bytes):
    assert verify(SECRET, body, sign(SECRET, body, NOW), now=NOW) == NOW


@pytest.mark.parametrize("skew", [-TOLERANCE_S, -1, 0, 1, TOLERANCE_S])
def test_within_tolerance(skew: int):
    assert verify(SECRET, BODY, sign(SECRET, BODY, NOW + skew), now=NOW) == NOW + skew


def test_altered_body_fails():
    header = sign(SECRET, BODY, NOW)
    for body in (BODY.replace(b"DELIVERED", b"RETURNED"), BODY + b" ", BODY[:-1], b""):
        with pytest.raises(SignatureError, match="does not match"):
            verify(SECRET, body, header, now=NOW)


def test_altered_timestamp_fails():
    digest = sign(SECRET, BODY, NOW).split("v1=")[1]
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, BODY, f"t={NOW + 1},v1={digest}", now=NOW)


def test_wrong_secret_fails():
    header = sign(SECRET, BODY, NOW)
    for secret in ("whsec_other", SECRET + " ", "", SECRET.upper()):
        with pytest.raises(SignatureError, match="does not match"):
            verify(secret, BODY, header, now=NOW)


def test_altered_digest_fails():
    header = sign(SECRET, BODY, NOW)
    flipped = header[:-1] + ("0" if header[-1] != "0" else "1")
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, BODY, flipped, now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, BODY, header.upper().replace("T=", "t=").replace("V1=", "v1="), now=NOW)


@pytest.mark.parametrize("skew", [TOLERANCE_S + 1, 3600, -(TOLERANCE_S + 1), -86_400])
def test_stale_or_future_timestamp_fails(skew: int):
    header = sign(SECRET, BODY, NOW + skew)
    with pytest.raises(SignatureError, match=f"outside the {TOLERANCE_S}s tolerance"):
        verify(SECRET, BODY, header, now=NOW)


def test_custom_tolerance():
    header = sign(SECRET, BODY, NOW - 1000)
    assert verify(SECRET, BODY, header, now=NOW, tolerance_s=1000) == NOW - 1000
    with pytest.raises(SignatureError, match="outside the 999s tolerance"):
        verify(SECRET, BODY, header, now=NOW, tolerance_s=999)


def test_stale_check_comes_before_the_digest_check():
    # a replayed old request is refused as stale even with a valid digest
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, BODY, sign(SECRET, BODY, NOW - 10_000), now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "t=,v1=abc",
        "t=abc,v1=abc",
        f"t={NOW}",
        "v1=abc",
        f"v1=abc,t{NOW}",
        f"t={NOW},v1=abc,extra",
        f"t={NOW}, v1=abc",  # the space makes the key " v1"
        f"t={NOW};v1=abc",
        f"T={NOW},V1=abc",
    ],
)
def test_malformed_header_fails(header: str):
    with pytest.raises(SignatureError, match="malformed signature header"):
        verify(SECRET, BODY, header, now=NOW)


def test_signature_error_is_a_value_error():
    assert issubclass(SignatureError, ValueError)


def test_non_ascii_digest_is_a_signature_error():
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, f"t={NOW},v1=é", now=NOW)
