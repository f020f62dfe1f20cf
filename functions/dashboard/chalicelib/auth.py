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
from urllib.parse import urlsplit

from chalice.app import CognitoUserPoolAuthorizer, Request

from chalicelib.cache import TTLCache
from chalicelib.http import ApiError
from chalicelib.signed import SESSIONS, InvalidToken
from chalicelib.throttle import FailureThrottle
from logistics.adapters.codec import from_attributes

COOKIE = "dash_session"
SESSION_TTL_S = 8 * 3600
CACHE_TTL_S = 30.0
# Unknown keys are cached too (as None), so a flood of random keys costs one lookup each and evicts
# old entries instead of growing the process.
CACHE_MAX_KEYS = 1024
CACHE_MAX_MERCHANTS = 1024
MAX_KEY_CHARS = 256
KEY_PREFIX = "lk_"


@dataclass(frozen=True)
class Identity:
    merchant_id: str
    method: str  # api_key | session | jwt


def hash_key(key: str) -> str:
    """The SHA-256 of an API key (hex), which is all MerchantsTable stores of it."""
    return hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()


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
    """API-key and merchant lookups on MerchantsTable, cached briefly per process (LRU, size cap, TTL)."""

    def __init__(self, client: Any, table: str, max_keys: int = CACHE_MAX_KEYS,
                 max_merchants: int = CACHE_MAX_MERCHANTS, ttl_s: float = CACHE_TTL_S) -> None:
        self.client = client
        self.table = table
        self._keys: TTLCache[str, str | None] = TTLCache(max_keys, ttl_s)
        self._merchants: TTLCache[str, dict[str, Any] | None] = TTLCache(max_merchants, ttl_s)

    def merchant_for_key(self, key: str) -> str | None:
        digest = hash_key(key)
        cached = self._keys.get(digest)
        if cached is not None:
            return cached[0]
        response = self.client.query(
            TableName=self.table, IndexName="by_api_key", KeyConditionExpression="api_key_hash = :h",
            ExpressionAttributeValues={":h": {"S": digest}}, Limit=2,
        )
        items = [from_attributes(i) for i in response["Items"]]
        merchant = items[0]["merchant_id"] if len(items) == 1 and usable(items[0], digest) else None
        self._keys.put(digest, merchant)
        return merchant

    def merchant(self, merchant_id: str) -> dict[str, Any] | None:
        cached = self._merchants.get(merchant_id)
        if cached is not None:
            return cached[0]
        response = self.client.get_item(TableName=self.table, Key={"merchant_id": {"S": merchant_id}})
        item = from_attributes(response["Item"]) if "Item" in response else None
        self._merchants.put(merchant_id, item)
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


def client_address(request: Request) -> str:
    """The caller's address as API Gateway saw the connection (not X-Forwarded-For, which it writes)."""
    identity = request.context.get("identity") or {}
    address = identity.get("sourceIp") if isinstance(identity, dict) else None
    return address if isinstance(address, str) and address else "unknown"


def too_many_attempts(seconds: int) -> ApiError:
    return ApiError(429, "too_many_attempts", f"too many failed API-key attempts; retry in {seconds} s",
                    headers={"Retry-After": str(seconds)})


def check_key(key: str, address: str, merchants: MerchantKeys, throttle: FailureThrottle) -> str | None:
    """The merchant of an API key, or None; a throttled address gets a 429 before any lookup, and a
    wrong key counts against its address."""
    wait = throttle.retry_after(address)
    if wait:
        raise too_many_attempts(wait)
    merchant = merchants.merchant_for_key(key) if key and len(key) <= MAX_KEY_CHARS else None
    if merchant is None:
        throttle.failed(address)
    return merchant


def authenticate(request: Request, mode: str, secret: bytes, merchants: MerchantKeys,
                 throttle: FailureThrottle) -> Identity:
    """The merchant behind a request, or a 401 (429 while the address is throttled). A presented but
    wrong credential never falls back to another one."""
    if mode == "jwt":
        claims = ((request.context.get("authorizer") or {}).get("claims")) or {}
        merchant = claims.get("custom:merchant_id")
        if not isinstance(merchant, str) or not merchant:
            raise unauthorized("a Cognito token with the custom:merchant_id claim is required")
        return Identity(merchant, "jwt")
    key = presented_key(request)
    if key is not None:
        merchant = check_key(key, client_address(request), merchants, throttle)
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


# -- origin of state-changing requests ------------------------------------------------------------
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL or origin; None when it is not one."""
    if not url.isascii() or any(c in url for c in "\\ \t\r\n"):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None \
            or parts.password is not None:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def own_origin(request: Request, scheme: str) -> tuple[str, str, int] | None:
    """The dashboard's origin: the Host header, under ``X-Forwarded-Proto`` when a proxy in front
    (API Gateway, a load balancer) says which scheme the browser used, else under ``scheme``."""
    host = request.headers.get("host") or ""
    proto = (request.headers.get("x-forwarded-proto") or scheme).split(",")[0].strip().lower()
    if not host or "/" in host or "@" in host:
        return None
    return _origin_of(f"{proto}://{host}")


def check_origin(request: Request) -> None:
    """A state-changing request that browsers send with cookies (login, logout) must come from the
    dashboard's own origin: ``Origin`` when the browser sent a real one, else ``Referer``, else the
    browser's ``Sec-Fetch-Site: same-origin``. A request none of them vouches for is a 403.

    ``Origin: null`` counts as absent: the pages send ``Referrer-Policy: no-referrer``, under which the
    Fetch standard has browsers send ``null`` even for a same-origin form POST, and an attacker's page
    can make a browser send ``null`` too. ``Sec-Fetch-Site`` is set by the browser, never by page script.
    """
    site = (request.headers.get("sec-fetch-site") or "").strip().lower()
    if site and site != "same-origin":
        raise forbidden("cross-site request refused (Sec-Fetch-Site is not same-origin)")
    origin = (request.headers.get("origin") or "").strip()
    referer = (request.headers.get("referer") or "").strip()
    claimed = origin if origin and origin != "null" else referer
    if claimed:
        theirs = _origin_of(claimed)
        if theirs is None or theirs != own_origin(request, theirs[0]):
            raise forbidden("cross-site request refused (Origin does not match the dashboard's host)")
        return
    if site != "same-origin":
        raise forbidden("request refused: no Origin, Referer or Sec-Fetch-Site header says it comes from "
                        "the dashboard's own pages")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def route_authorizer(mode: str, user_pool_arn: str) -> CognitoUserPoolAuthorizer | None:
    """The authorizer to attach to protected routes for ``chalice deploy``: Cognito in jwt mode.
    In api_key mode the app checks keys and sessions itself (a token authorizer sees one header
    only, not the X-Api-Key header or the session cookie)."""
    if mode != "jwt":
        return None
    if not user_pool_arn:
        raise RuntimeError("AUTH_MODE=jwt needs COGNITO_USER_POOL_ARN")
    return CognitoUserPoolAuthorizer("MerchantUserPool", provider_arns=[user_pool_arn])
