"""Query-string validation: every parameter is checked and a bad one is a 400 naming the field."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.http import bad_request
from logistics.domain.events import to_utc
from logistics.domain.geography import geography
from logistics.domain.status import Status

GEOS = ("EU", "NA", "APAC", "LATAM", "MEA", "OTHER")
STATUSES = tuple(s.value for s in Status)
MAX_LIMIT = 200
CSV_MAX_ROWS = 1000
MAX_SAMPLE = 1000
# Every pattern is matched whole (fullmatch: '$' alone would let a trailing newline through) and
# ASCII-only where it says digits or letters ('\d' is any Unicode digit).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-/]{0,127}")
_COUNTRY = re.compile(r"[A-Z]{2}")
# Printable text: no C0/C1 control characters, no lone surrogates (DynamoDB cannot store them).
_TEXT = re.compile(r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,128}")
_UPDATED_KEY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"
                          r"(#[A-Za-z0-9][A-Za-z0-9._:\-/]{0,127})?")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_DLQ_KEY = re.compile(r"[0-9]{13}#[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,400}")
_UINT = re.compile(r"[0-9]{1,9}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# DynamoDB's limit for a sort key value (UTF-8 bytes); a longer dlq_key cannot exist.
MAX_RANGE_KEY_BYTES = 1024
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


def allow_only(params: dict[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise bad_request(f"unknown parameter {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}", unknown[0])


def _uint(raw: str) -> int | None:
    """An ASCII decimal of up to 9 digits, else None (``str.isdigit`` accepts '²', which int() refuses,
    and int() refuses strings of more than 4,300 digits)."""
    return int(raw) if _UINT.fullmatch(raw) else None


def _in_range(raw: str, low: int, high: int) -> int | None:
    value = _uint(raw)
    return value if value is not None and low <= value <= high else None


def limit(params: dict[str, str], default: int = 50, maximum: int = MAX_LIMIT) -> int:
    raw = params.get("limit")
    if raw is None:
        return default
    value = _in_range(raw, 1, maximum)
    if value is None:
        raise bad_request(f"limit must be an integer from 1 to {maximum}", "limit")
    return value


def identifier(value: str, field: str) -> str:
    if not _ID.fullmatch(value):
        raise bad_request(f"{field} is not a valid identifier", field)
    return value


def text(value: str, field: str) -> str:
    if not _TEXT.fullmatch(value):
        raise bad_request(f"{field} must be 1 to 128 printable characters", field)
    return value


def iso_datetime(value: str, field: str) -> str:
    """An ISO 8601 date-time with offset (or a date, meaning midnight UTC), as the UTC key prefix."""
    candidate = f"{value}T00:00:00Z" if _DATE.fullmatch(value) else value
    message = f"{field} must be an ISO 8601 date or date-time with offset, e.g. 2026-11-20T10:00:00Z"
    if len(value) > 64 or not value.isascii():
        raise bad_request(message, field)
    try:
        key = to_utc(candidate)
    except (ValueError, OverflowError) as exc:  # OverflowError: e.g. 0001-01-01T00:00:00+01:00
        raise bad_request(message, field) from exc
    if not _UPDATED_KEY.fullmatch(key):  # years before 1000 would not sort as keys
        raise bad_request(message, field)
    return key


def hours(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    value = _in_range(raw, 1, 24 * 90)
    if value is None:
        raise bad_request(f"{name} must be an integer number of hours from 1 to 2160", name)
    return value


def updated_key(value: str, field: str = "since") -> str:
    if not _UPDATED_KEY.fullmatch(value):
        raise bad_request(f"{field} must be an updated_key cursor as returned by this endpoint", field)
    return value


def tracking_token(value: str) -> str | None:
    return value if _TOKEN.fullmatch(value) else None


def dlq_key(value: str) -> str:
    if not _DLQ_KEY.fullmatch(value) or len(value.encode()) > MAX_RANGE_KEY_BYTES:
        raise bad_request("not a dead-letter key (<timestamp ms>#<topic>-<partition>@<offset>)", "dlq_key")
    return value


def sample(params: dict[str, str], default: int) -> int:
    """``sample``: how many recently updated shipments the KPI rates are computed over."""
    raw = params.get("sample")
    if raw is None:
        return default
    value = _in_range(raw, 1, MAX_SAMPLE)
    if value is None:
        raise bad_request(f"sample must be an integer from 1 to {MAX_SAMPLE}", "sample")
    return value


def search_term(params: dict[str, str]) -> str:
    q = params.get("q", "").strip()
    if not q:
        raise bad_request("q is required: a shipment id, tracking number or order reference", "q")
    return text(q, "q")


@dataclass(frozen=True)
class ShipmentFilter:
    """What a shipments list may be narrowed by. One field picks the index; the rest filter."""

    status: str | None = None
    geo: str | None = None
    country: str | None = None
    carrier: str | None = None
    warehouse: str | None = None
    updated_since: str | None = None
    needs_attention: bool = False

    FIELDS = ("status", "geo", "region", "country", "carrier", "warehouse", "updated_since", "needs_attention")

    @classmethod
    def parse(cls, params: dict[str, str]) -> ShipmentFilter:
        status = params.get("status")
        if status is not None and (not status.isascii() or status.upper() not in STATUSES):
            raise bad_request(f"status must be one of {', '.join(STATUSES)}", "status")
        geo = params.get("geo") or params.get("region")
        if "geo" in params and "region" in params and params["geo"] != params["region"]:
            raise bad_request("give geo or region, not both", "region")
        if geo is not None and (not geo.isascii() or geo.upper() not in GEOS):
            raise bad_request(f"region must be one of {', '.join(GEOS)}", "region")
        country = params.get("country")
        if country is not None:
            country = country.upper()
            if not country.isascii() or not _COUNTRY.fullmatch(country):
                raise bad_request("country must be an ISO 3166-1 alpha-2 code such as DE", "country")
            if geo is not None and geography(country) != geo.upper():
                raise bad_request(f"country {country} is not in region {geo.upper()}", "country")
        attention = params.get("needs_attention")
        if attention is not None and attention.lower() not in _TRUE + _FALSE:
            raise bad_request("needs_attention must be true or false", "needs_attention")
        return cls(
            status=status.upper() if status else None,
            geo=geo.upper() if geo else (geography(country) if country else None),
            country=country,
            carrier=text(params["carrier"], "carrier") if "carrier" in params else None,
            warehouse=identifier(params["warehouse"], "warehouse") if "warehouse" in params else None,
            updated_since=iso_datetime(params["updated_since"], "updated_since") if "updated_since" in params
            else None,
            needs_attention=bool(attention and attention.lower() in _TRUE),
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}


@dataclass(frozen=True)
class ListRequest:
    """A shipments list request: filter, page size and where to continue (a cursor, checked when read)."""

    filter: ShipmentFilter
    limit: int
    cursor: str | None

    PARAMS = frozenset({*ShipmentFilter.FIELDS, "limit", "cursor"})

    @classmethod
    def parse(cls, params: dict[str, str], default_limit: int = 50, maximum: int = MAX_LIMIT) -> ListRequest:
        allow_only(params, set(cls.PARAMS))
        flt = ShipmentFilter.parse(params)
        return cls(flt, limit(params, default_limit, maximum), params.get("cursor"))
