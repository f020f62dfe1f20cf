"""Hypothesis strategies of what a producer can put on the topics: valid events, structure-aware
mutations of them (the edges of what JSON, the schemas and DynamoDB each admit) and arbitrary bytes.

Each strategy gives ``(value, valid)``: ``valid`` is True only for events built to follow the contract,
which the ingest must store whatever else shares their batch.
"""

from __future__ import annotations

import itertools
import json
import math
import string
from functools import cache
from typing import Any

from hypothesis import strategies as st

ID_FIRST = string.ascii_letters + string.digits
ID_REST = ID_FIRST + "._:-/"
STATUSES = ["CREATED", "PROCESSING", "READY_TO_SHIP", "PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY",
            "AVAILABLE_FOR_PICKUP", "DELIVERY_ATTEMPTED", "RETURNING", "DELIVERED", "RETURNED", "CANCELLED",
            "LOST", "EXCEPTION", "EXPIRED"]
WAREHOUSE_TYPES = ["received", "putaway", "picked", "packed", "staged", "loaded", "dispatched", "adjusted",
                   "cycle_counted", "return_received"]
MAX_EVENT_BYTES = 65536

# Numbers JSON (or Python's json) reads that DynamoDB cannot store, and some just inside the limits.
NUMBER_TOKENS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "5e-324", "1e-131", "1e-130",
                 "1e125", "9.9e125", "1e126", "9.99999999999999999999e125", "1" * 38, "1" * 39, "1" * 5000,
                 "1." + "1" * 40, "0.1e-129", "-0.0", "0", "-90", "90.0000000000000000000000000001", "1E2",
                 "12345678901234567890123456789012345678.5"]
DATE_EDGES = ["0000-01-01T00:00Z", "0001-01-01T00:00Z", "0001-01-01T00:00+23:59", "0001-01-01T23:59-23:59",
              "9999-12-31T23:59Z", "9999-12-31T23:59-23:59", "9999-12-31T00:00+23:59",
              "9999-12-31T23:59:59.999999999Z", "2024-13-01T00:00Z", "2024-00-10T00:00Z", "2024-02-30T00:00Z",
              "2024-02-29T00:00Z", "2023-02-29T00:00Z", "2024-04-31T00:00Z", "2024-05-01T24:00Z",
              "2024-05-01T10:00:60Z", "2024-05-01T10:00+24:00", "2024-05-01T10:00+99:99",
              "2024-05-01T10:00Z\n", "٢٠٢٤-05-01T10:00Z", "2024-05-01T10:00:00.1+05:45",
              "2024-05-01T10:00:00.123456789-12:00", "2024-05-01T10:00"]
ODD_IDS = ["a#b", "#", "a" * 128, "a" * 129, "s1\n", "-s1", "", " ", "\uff531", "s\u00001", "s/../..", "_unattributed",
           "a\ud800", "\U0001f600"]


_serial = itertools.count()


@cache
def ids() -> st.SearchStrategy[str]:
    return st.builds(lambda a, b: a + b, st.sampled_from(ID_FIRST), st.text(ID_REST, max_size=20))


@cache
def event_ids() -> st.SearchStrategy[str]:
    """Unique across the run, so a valid event is never mistaken for a redelivery of another."""
    return ids().map(lambda i: f"{i[:100]}.{next(_serial)}")


@cache
def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Unicode text without lone surrogates (valid for every string field)."""
    return st.text(st.characters(exclude_categories=("Cs",)), max_size=max_size)


SECONDS = ["", ":00", ":59", ":30.5", ":01.123456789"]
OFFSETS = ["Z", "+00:00", "+01:00", "-05:00", "+05:45", "+23:59", "-23:59", "+14:00"]
# year (1971-2099), month, day (1-28: valid in every month), hour, minute, seconds, offset
_INSTANT_RADIXES = (129, 12, 28, 24, 60, len(SECONDS), len(OFFSETS))


def _instant(n: int) -> str:
    digits = []
    for radix in reversed(_INSTANT_RADIXES):
        n, digit = divmod(n, radix)
        digits.append(digit)
    offset, seconds, minute, hour, day, month, year = digits
    return (f"{1971 + year:04d}-{1 + month:02d}-{1 + day:02d}T{hour:02d}:{minute:02d}"
            f"{SECONDS[seconds]}{OFFSETS[offset]}")


@cache
def instants() -> st.SearchStrategy[str]:
    """An instant the contract admits, drawn as one number (a draw per component costs more than the rest of
    a valid event)."""
    return st.integers(0, math.prod(_INSTANT_RADIXES) - 1).map(_instant)


@cache
def numbers(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats DynamoDB can store (zero, or a magnitude of at least 1e-130)."""
    return st.floats(low, high).filter(lambda x: x == 0 or abs(x) >= 1e-130)


@cache
def location() -> st.SearchStrategy[dict[str, Any] | None]:
    return st.one_of(st.none(), st.fixed_dictionaries(
        {"country": st.sampled_from(["DE", "US", "JP", "BR", "ZZ"])},
        optional={"city": st.one_of(st.none(), texts(128)), "region": st.one_of(st.none(), texts(20)),
                  "lat": st.one_of(st.none(), numbers(-90, 90)), "lon": st.one_of(st.none(), numbers(-180, 180)),
                  "facility_id": st.one_of(st.none(), texts(20))}))


@cache
def _shipment_optional() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={
        "sub_status": st.one_of(st.none(), texts(64)), "carrier": st.one_of(st.none(), texts(64)),
        "tracking_number": st.one_of(st.none(), texts(128)), "order_ref": st.one_of(st.none(), texts(128)),
        "location": location(),
        "eta": st.one_of(st.none(), st.fixed_dictionaries({"date": st.dates().map(str)})),
        "customer": st.one_of(st.none(), st.fixed_dictionaries(
            {"contact_ref": texts(256).filter(bool)},
            optional={"channels": st.lists(st.sampled_from(["email", "sms", "push"]), unique=True),
                      "timezone": texts(64), "locale": texts(16)})),
    })


@cache
def _items() -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(st.fixed_dictionaries({"sku": texts(64).filter(bool), "qty": st.integers(-1_000_000, 1_000_000)}),
                    max_size=5)


@cache
def _warehouse_optional() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={"zone": st.one_of(st.none(), texts(64)), "location": location()})


@st.composite
def shipment_events(draw: st.DrawFn, merchant: str) -> dict[str, Any]:
    status = draw(st.sampled_from(STATUSES))
    correction = draw(st.booleans()) and draw(st.booleans())
    event: dict[str, Any] = {
        "event_id": draw(event_ids()), "schema_version": draw(st.sampled_from([1, 2])),
        "event_type": "correction" if correction else "tracking_update",
        "merchant_id": merchant, "shipment_id": draw(ids()), "status": status, "occurred_at": draw(instants()),
    }
    optional = draw(_shipment_optional())
    event.update(optional)
    if correction:
        event["correction_of"] = draw(ids())
    if status == "EXCEPTION":
        event["exception"] = {"reason": draw(texts(256).filter(bool))}
    if event["schema_version"] == 2 and draw(st.booleans()):
        event["parcel"] = {"pieces": draw(st.integers(1, 999)), "weight_kg": draw(numbers(0.001, 10000)),
                           "dimensions_cm": draw(st.lists(numbers(0.5, 100000), min_size=3, max_size=3))}
    return event


@st.composite
def warehouse_events(draw: st.DrawFn, merchant: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": draw(event_ids()), "schema_version": 1, "event_type": draw(st.sampled_from(WAREHOUSE_TYPES)),
        "merchant_id": merchant, "warehouse_id": draw(ids()), "occurred_at": draw(instants()),
        "items": draw(_items()),
    }
    if draw(st.booleans()):
        event["shipment_id"] = draw(ids())
    event.update(draw(_warehouse_optional()))
    return event


@cache
def valid_events(merchant: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(shipment_events(merchant), warehouse_events(merchant))


def _deep(depth: int) -> Any:
    value: Any = 1
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


@cache
def _json_values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                       st.text(), st.sampled_from(ODD_IDS))
    return st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=12)


def _lone_surrogates(text: str, at: int) -> str:
    return text[:at] + chr(0xD800 + at % 0x800) + text[at:]


@st.composite
def mutated(draw: st.DrawFn, merchant: str) -> bytes:
    """A valid event changed in one or two places, serialised (sometimes by hand to reach raw tokens)."""
    event = draw(valid_events(merchant))
    raw_tokens: dict[str, str] = {}
    for _ in range(draw(st.integers(1, 2))):
        field = draw(st.sampled_from([*sorted(event), "lat", "items", "extra_field"]))
        how = draw(st.sampled_from(["value", "number", "date", "id", "deep", "huge", "surrogate", "drop"]))
        if how == "value":
            event[field] = draw(_json_values())
        elif how == "number":
            token = f"__num{len(raw_tokens)}__"
            raw_tokens[token] = draw(st.sampled_from(NUMBER_TOKENS))
            target = event.setdefault("location", {"country": "DE"}) if field == "lat" else event
            if not isinstance(target, dict):
                target = event
            target["lat" if field == "lat" else field] = token
        elif how == "date":
            event[draw(st.sampled_from(["occurred_at", "occurred_at", "eta"]))] = draw(st.sampled_from(DATE_EDGES))
            if "eta" in event and isinstance(event["eta"], str):
                event["eta"] = {"date": event["eta"][:10]}
        elif how == "id":
            event[draw(st.sampled_from(["merchant_id", "shipment_id", "warehouse_id", "event_id",
                                        "correction_of"]))] = draw(st.sampled_from(ODD_IDS))
        elif how == "deep":
            depth = draw(st.sampled_from([5, 31, 32, 33, 200, 3000]))
            token = f"__num{len(raw_tokens)}__"
            raw_tokens[token] = "[" * depth + "1" + "]" * depth if depth > 100 else json.dumps(_deep(depth))
            event[field] = token
        elif how == "huge":
            size = draw(st.sampled_from([64, 65, 128, 129, 256, 257, 512, 513, 5000, 20000]))
            char = draw(st.sampled_from(["a", "é", "\U0001f600", "\x01", "#", "\\"]))
            if field == "items":
                count = draw(st.sampled_from([500, 501]))
                event["items"] = [{"sku": char * min(size, 64), "qty": 1}] * count
            else:
                event[field] = char * size
        elif how == "surrogate":
            text = draw(texts(20))
            event[field] = _lone_surrogates(text, draw(st.integers(0, len(text))))
        else:
            event.pop(field, None)
    text = json.dumps(event, ensure_ascii=draw(st.booleans()))
    for token, raw in raw_tokens.items():
        text = text.replace(f'"{token}"', raw)
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["duplicate", "latin-1", "utf-16", "raw-surrogate", "bom"]))
    if encoding == "duplicate":  # the same key twice: parsers disagree about which one counts
        text = "{" + f'"merchant_id": "{draw(ids())}", ' + text[1:]
        encoding = "utf-8"
    if encoding == "raw-surrogate":  # UTF-8-encoded surrogate: not UTF-8 at all
        return text.encode("utf-8", "surrogatepass").replace(b'"', b'"\xed\xa0\x80', 1)
    if encoding == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    return text.encode(encoding, "surrogatepass") if encoding != "latin-1" else text.encode("latin-1", "replace")


@cache
def arbitrary_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=200),
                     _json_values().map(lambda v: json.dumps(v).encode()),
                     st.sampled_from(range(len(_ODD_VALUES))).map(_ODD_VALUES.__getitem__))


# Kept out of the strategy's repr (it is printed with every failure).
_ODD_VALUES = [b"", b"null", b"{}", b"[]", b"{" * 5000, b"[" * 70000, b"1" * 5000,
               b'"' + b"x" * (MAX_EVENT_BYTES - 2) + b'"', b"x" * (MAX_EVENT_BYTES + 1)]


@cache
def records(merchant: str) -> st.SearchStrategy[tuple[bytes | None, bool]]:
    """One record value and whether it was built valid."""
    return st.one_of(
        valid_events(merchant).map(lambda e: (json.dumps(e, ensure_ascii=False).encode(), True)),
        mutated(merchant).map(lambda v: (v, False)),
        mutated(merchant).map(lambda v: (v, False)),
        arbitrary_bytes().map(lambda v: (v, False)),
        st.just((None, False)),
    )


@cache
def batches(merchant: str, min_size: int = 20, max_size: int = 30) -> st.SearchStrategy[list[tuple[bytes | None, bool]]]:  # noqa: E501
    return st.lists(records(merchant), min_size=min_size, max_size=max_size)
