"""Who is asking: every route except the public ones resolves a merchant identity here.

AUTH_MODE=api_key (default): per-merchant API keys, stored only as their SHA-256 in MerchantsTable
(GSI ``by_api_key`` on ``api_key_hash``), sent as ``Authorization: Bearer <key>`` or ``X-Api-Key``;
browsers log in once with the key and get an HttpOnly, SameSite=Strict cookie holding an HMAC-signed
session. AUTH_MODE=jwt: API Gateway's Cognito authorizer verifies the token (routes carry a
``CognitoUserPoolAuthorizer``); the merchant comes from the ``custom:merchant_id`` claim.

The app enforces this itself (a middleware in front of every route), so the same rules hold behind
``chalice local``, the Chalice test client and the template's ``/{proxy+}`` API alike.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any

from chalice.app import CognitoUserPoolAuthorizer, Request

from chalicelib.http import ApiError
from chalicelib.signed import SESSIONS, InvalidToken
from logistics.adapters.codec import from_attributes

COOKIE = "dash_session"
SESSION_TTL_S = 8 * 3600
CACHE_TTL_S = 30.0
KEY_PREFIX = "lk_"


@dataclass(frozen=True)
class Identity:
    merchant_id: str
    method: str  # api_key | session | jwt


def hash_key(key: str) -> str:
    """The SHA-256 of an API key (hex), which is all MerchantsTable stores of it."""
    return hashlib.sha256(key.encode()).hexdigest()


def issue_api_key(merchants_table: Any, merchant_id: str, name: str, client: Any = None) -> str:
    """Create (or rotate) the API key of a merchant and return it; only its SHA-256 is stored.

    ``merchants_table`` is a table name (with ``client``, or a boto3 client from the environment) or a
    boto3 ``Table`` resource. Other merchant settings (webhook, customer statuses) are kept.
    """
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    values = {
        ":h": hash_key(key),
        ":n": name,
        ":at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    expression = "SET api_key_hash = :h, api_key_name = :n, api_key_created_at = :at"
    if isinstance(merchants_table, str):
        if client is None:
            from logistics.bootstrap import client as make_client

            client = make_client("dynamodb")
        client.update_item(
            TableName=merchants_table, Key={"merchant_id": {"S": merchant_id}}, UpdateExpression=expression,
            ExpressionAttributeValues={k: {"S": v} for k, v in values.items()},
        )
    else:
        merchants_table.update_item(Key={"merchant_id": merchant_id}, UpdateExpression=expression,
                                    ExpressionAttributeValues=values)
    return key


class MerchantKeys:
    """API-key and merchant lookups on MerchantsTable, cached briefly per process."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table
        self._keys: dict[str, tuple[float, str | None]] = {}
        self._merchants: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def merchant_for_key(self, key: str) -> str | None:
        digest = hash_key(key)
        cached = self._keys.get(digest)
        if cached and time.monotonic() - cached[0] < CACHE_TTL_S:
            return cached[1]
        response = self.client.query(
            TableName=self.table, IndexName="by_api_key", KeyConditionExpression="api_key_hash = :h",
            ExpressionAttributeValues={":h": {"S": digest}}, Limit=2,
        )
        items = [from_attributes(i) for i in response["Items"]]
        merchant = items[0]["merchant_id"] if len(items) == 1 and usable(items[0], digest) else None
        self._keys[digest] = (time.monotonic(), merchant)
        return merchant

    def merchant(self, merchant_id: str) -> dict[str, Any] | None:
        cached = self._merchants.get(merchant_id)
        if cached and time.monotonic() - cached[0] < CACHE_TTL_S:
            return cached[1]
        response = self.client.get_item(TableName=self.table, Key={"merchant_id": {"S": merchant_id}})
        item = from_attributes(response["Item"]) if "Item" in response else None
        self._merchants[merchant_id] = (time.monotonic(), item)
        return item


def usable(merchant: dict[str, Any] | None, digest_prefix: str) -> bool:
    """The merchant exists, is not disabled, and its current key hash starts with ``digest_prefix``."""
    if not merchant or merchant.get("disabled"):
        return False
    current = merchant.get("api_key_hash") or ""
    return bool(current) and hmac.compare_digest(current[: len(digest_prefix)], digest_prefix)


# -- sessions --------------------------------------------------------------------------------------
def make_session(secret: bytes, merchant_id: str, key_digest: str, now: float | None = None) -> str:
    """A signed session: merchant, a prefix of the key hash (rotating the key ends it), expiry."""
    now = time.time() if now is None else now
    return SESSIONS.sign(secret, {"m": merchant_id, "k": key_digest[:16], "exp": int(now) + SESSION_TTL_S})


def read_session(secret: bytes, value: str, now: float | None = None) -> tuple[str, str] | None:
    """(merchant id, key-hash prefix) of a valid, unexpired session; None otherwise."""
    now = time.time() if now is None else now
    try:
        body = SESSIONS.verify(secret, value)
    except InvalidToken:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("exp"), int) or body["exp"] < now:
        return None
    merchant, key = body.get("m"), body.get("k")
    return (merchant, key) if isinstance(merchant, str) and isinstance(key, str) else None


def session_cookie(value: str, secure: bool) -> str:
    flags = f"HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_TTL_S}"
    return f"{COOKIE}={value}; {flags}{'; Secure' if secure else ''}"


def clear_cookie(secure: bool) -> str:
    return f"{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{'; Secure' if secure else ''}"


def is_https(request: Request) -> bool:
    return (request.headers.get("x-forwarded-proto") or "").lower() == "https"


def _cookie(request: Request) -> str | None:
    raw = request.headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


# -- identity --------------------------------------------------------------------------------------
def unauthorized(message: str = "a merchant API key or session is required") -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="dashboard"'})


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise unauthorized("Authorization must be 'Bearer <api key>'")
        return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key is not None else None


def authenticate(request: Request, mode: str, secret: bytes, merchants: MerchantKeys) -> Identity:
    """The merchant behind a request, or a 401. A presented but wrong credential never falls back
    to another one."""
    if mode == "jwt":
        claims = ((request.context.get("authorizer") or {}).get("claims")) or {}
        merchant = claims.get("custom:merchant_id")
        if not isinstance(merchant, str) or not merchant:
            raise unauthorized("a Cognito token with the custom:merchant_id claim is required")
        return Identity(merchant, "jwt")
    key = presented_key(request)
    if key is not None:
        merchant = merchants.merchant_for_key(key) if len(key) <= 256 else None
        if merchant is None:
            raise unauthorized("unknown or revoked API key")
        return Identity(merchant, "api_key")
    cookie = _cookie(request)
    if cookie:
        session = read_session(secret, cookie)
        if session and usable(merchants.merchant(session[0]), session[1]):
            return Identity(session[0], "session")
        raise unauthorized("the session has expired; log in again")
    raise unauthorized()


def check_csrf(request: Request, identity: Identity) -> None:
    """State-changing requests on a cookie session must come from our own pages' scripts: they send a
    custom header, which a cross-site form cannot and a cross-site fetch may not without CORS."""
    if identity.method == "session" and request.method not in ("GET", "HEAD", "OPTIONS") and \
            request.headers.get("x-requested-with") != "dashboard":
        raise ApiError(403, "forbidden", "missing X-Requested-With: dashboard header")


def route_authorizer(mode: str, user_pool_arn: str) -> CognitoUserPoolAuthorizer | None:
    """The authorizer to attach to protected routes for ``chalice deploy``: Cognito in jwt mode.
    In api_key mode the app checks keys and sessions itself (a token authorizer sees one header
    only, not the X-Api-Key header or the session cookie)."""
    if mode != "jwt":
        return None
    if not user_pool_arn:
        raise RuntimeError("AUTH_MODE=jwt needs COGNITO_USER_POOL_ARN")
    return CognitoUserPoolAuthorizer("MerchantUserPool", provider_arns=[user_pool_arn])
