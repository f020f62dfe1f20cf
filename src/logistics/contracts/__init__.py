"""Event contracts: versioned JSON Schemas (``schemas/``) and their conversion to domain events.

The schema files are the single source of truth: the ingest function validates with them and the
broker's schema registry can be given the same files. What JSON Schema cannot say is checked here, so
that whatever passes can be stored (docs/TRUST_BOUNDARY.md):

* :func:`parse` reads a record value as strict JSON: UTF-8, no duplicate keys, no ``NaN``/``Infinity``,
  only numbers DynamoDB can hold (at most 38 significant digits, magnitude 1e-130 to below 1e126), no
  lone surrogates in any string, nesting at most :data:`MAX_DEPTH` deep.
* patterns follow ECMA-262 (the JSON Schema dialect): ``$`` is the very end (Python's ``$`` also
  matches before a final newline) and character classes are ASCII.
* the schemas are JSON Schema draft-07, the newest draft AWS Glue Schema Registry accepts. A payload is
  checked by a validator compiled to Python code (``fastjsonschema``, about 25 times faster than
  ``jsonschema`` on our events); only a payload it refuses goes through ``jsonschema`` as well, for the
  fullest error message. A property test holds the two to the same verdict.
* ``occurred_at`` must be a real instant that lies in years 1-9999 in UTC as well; ``eta.date`` a real
  calendar date.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any, NoReturn

import fastjsonschema
from jsonschema import Draft7Validator, ValidationError, validators

from logistics.domain.events import ShipmentEvent, StockLine, WarehouseEvent, to_utc
from logistics.domain.status import Status

SHIPMENT = "shipment"
WAREHOUSE = "warehouse"
WAREHOUSE_EVENT_TYPES = frozenset(
    {"received", "putaway", "picked", "packed", "staged", "loaded", "dispatched", "adjusted",
     "cycle_counted", "return_received"}
)
SHIPMENT_EVENT_TYPES = frozenset({"tracking_update", "correction"})

# Identifiers end up in table keys, where ``#`` separates their parts (``<merchant>#S#<shipment>``,
# ``<merchant>#<status>``, ``<occurred_at>#<event_id>``): they can never hold one, and are bounded.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-/]{0,127}$"
MAX_DEPTH = 32  # DynamoDB nests maps and lists at most 32 levels deep
MAX_DIGITS = 38  # DynamoDB numbers: up to 38 significant digits ...
MIN_EXPONENT, MAX_EXPONENT = -130, 125  # ... magnitude from 1e-130 to below 1e126 (or zero)
MAX_REASON_CHARS = 500  # a contract error's message is cut to this length (it may quote the input)


class ContractError(ValueError):
    """An event that breaks its contract; the message says what and where."""


def is_id(value: Any) -> bool:
    """Whether ``value`` is an identifier the contracts admit (and so safe in a key)."""
    return isinstance(value, str) and _ecma(ID_PATTERN).search(value) is not None


def _cut(text: str, limit: int = MAX_REASON_CHARS) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


# -- strict JSON --------------------------------------------------------------------------------------
def _check_number(text: str, value: float | int) -> None:
    try:
        number = Decimal(text)
    except InvalidOperation as exc:  # not reachable from the JSON grammar, but never trust that
        raise ContractError(f"number {_cut(text, 40)} is not a number") from exc
    for candidate in (number, Decimal(repr(value)) if isinstance(value, float) else number):
        if not candidate.is_finite():
            raise ContractError(f"number {_cut(text, 40)} is out of the range DynamoDB can store")
        if candidate.is_zero():
            continue
        significant = len("".join(str(d) for d in candidate.as_tuple().digits).strip("0"))
        if significant > MAX_DIGITS:
            raise ContractError(f"number {_cut(text, 40)} has more than {MAX_DIGITS} significant digits")
        if not MIN_EXPONENT <= candidate.adjusted() <= MAX_EXPONENT:
            raise ContractError(f"number {_cut(text, 40)} is out of the range DynamoDB can store (1e-130 to 1e126)")


def _parse_float(text: str) -> float:
    if len(text) > 400:
        raise ContractError(f"number {_cut(text, 40)} is too long")
    value = float(text)
    _check_number(text, value)
    return value


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ContractError(f"integer {_cut(text, 40)} has more than {MAX_DIGITS} digits")
    value = int(text)
    _check_number(text, value)
    return value


def _parse_constant(name: str) -> Any:
    raise ContractError(f"{name} is not a number JSON allows (nor one DynamoDB can store)")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ContractError(f"duplicate key {_cut(repr(key))} in an object")
        result[key] = value
    return result


def _strings_and_depth(payload: Any) -> None:
    """Every string (keys too) is valid Unicode text (no lone surrogate) and nesting is at most MAX_DEPTH."""
    stack: list[tuple[Any, int, str]] = [(payload, 0, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ContractError(f"string at {where or '(root)'} holds a lone surrogate "
                                    f"({value[exc.start]!r}): not Unicode text") from exc
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise ContractError(f"value at {where or '(root)'} is nested more than {MAX_DEPTH} levels deep")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, inner in items:
                if isinstance(key, str):
                    stack.append((key, depth, f"{where}/{_cut(key)[:40]} (key)"))
                stack.append((inner, depth + 1, f"{where}/{_cut(str(key))[:40]}"))


def parse(value: bytes) -> Any:
    """A record value as strict JSON (see the module docstring); raises ContractError saying why not."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(f"value is not JSON: not UTF-8 ({exc})") from exc
    try:
        payload = json.loads(text, parse_float=_parse_float, parse_int=_parse_int,
                             parse_constant=_parse_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise ContractError(f"value is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise ContractError(f"value is not JSON this platform reads: nested more than {MAX_DEPTH} levels deep"
                            ) from exc
    except ValueError as exc:  # ContractError from a hook, or int() limits
        raise ContractError(_cut(str(exc))) from exc
    _strings_and_depth(payload)
    return payload


@cache
def schema(kind: str, version: int) -> dict[str, Any]:
    """The JSON Schema of ``kind`` (shipment | warehouse) at ``version``."""
    name = f"{kind}-event.v{version}.json"
    try:
        text = resources.files("logistics.contracts").joinpath("schemas", name).read_text()
    except FileNotFoundError as exc:
        raise ContractError(f"unknown schema_version {version} for {kind} events") from exc
    return json.loads(text)


def versions(kind: str) -> list[int]:
    """Schema versions available for ``kind``, oldest first."""
    folder = resources.files("logistics.contracts").joinpath("schemas")
    prefix = f"{kind}-event.v"
    return sorted(int(p.name[len(prefix):-5]) for p in folder.iterdir() if p.name.startswith(prefix))


@cache
def _ecma(pattern: str) -> re.Pattern[str]:
    """A schema pattern with ECMA-262 meaning: ASCII classes, and a final ``$`` that is the very end."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern, re.ASCII)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _ecma(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft7Validator, {"pattern": _pattern})


@cache
def _validator(kind: str, version: int) -> Any:
    return _Validator(schema(kind, version))


@cache
def _fast_validator(kind: str, version: int) -> Callable[[Any], Any]:
    # fastjsonschema turns a final ``$`` into ``\Z`` itself; our patterns spell their classes in ASCII.
    return fastjsonschema.compile(schema(kind, version))


def kind_of(payload: dict[str, Any]) -> str:
    """Which contract a payload claims to follow, from its ``event_type``."""
    event_type = payload.get("event_type")
    if not isinstance(event_type, str):  # a list or an object would not even hash
        raise ContractError(_cut(f"unknown event_type {event_type!r}"))
    if event_type in WAREHOUSE_EVENT_TYPES:
        return WAREHOUSE
    if event_type in SHIPMENT_EVENT_TYPES:
        return SHIPMENT
    raise ContractError(_cut(f"unknown event_type {event_type!r}"))


def _raise_schema_error(kind: str, version: int, payload: Any, fast_message: str) -> NoReturn:
    """Raise the ContractError for a payload the compiled validator refused, worded by ``jsonschema``."""
    errors = sorted(_validator(kind, version).iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:  # the two validators disagree: refuse anyway (the property test keeps this unreachable)
        raise ContractError(_cut(f"{kind} event v{version} invalid: {fast_message}"))
    first = errors[0]
    where = "/".join(str(p) for p in first.absolute_path) or "(root)"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    raise ContractError(_cut(f"{kind} event v{version} invalid at {where}: {_cut(first.message)}{more}"))


def validate(payload: Any) -> str:
    """Validate a decoded JSON payload against its contract; returns its kind or raises ContractError."""
    if not isinstance(payload, dict):
        raise ContractError(f"event must be a JSON object, got {type(payload).__name__}")
    kind = kind_of(payload)
    version = payload.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ContractError(_cut(f"schema_version must be an integer, got {version!r}"))
    try:
        _fast_validator(kind, version)(payload)
    except fastjsonschema.JsonSchemaException as exc:
        _raise_schema_error(kind, version, payload, str(exc))
    try:
        to_utc(payload["occurred_at"])
    except (ValueError, OverflowError) as exc:  # month 02-31, or an offset that takes it past year 1 or 9999
        raise ContractError(_cut(f"occurred_at: {exc}")) from exc
    eta = payload.get("eta")
    if isinstance(eta, dict) and isinstance(eta.get("date"), str):
        try:
            date.fromisoformat(eta["date"])
        except ValueError as exc:
            raise ContractError(_cut(f"eta/date: {exc}")) from exc
    return kind


def to_domain(payload: dict[str, Any]) -> ShipmentEvent | WarehouseEvent:
    """Validate and convert a payload of any supported schema version to its domain event."""
    kind = validate(payload)
    if kind == WAREHOUSE:
        return WarehouseEvent(
            event_id=payload["event_id"],
            merchant_id=payload["merchant_id"],
            warehouse_id=payload["warehouse_id"],
            event_type=payload["event_type"],
            occurred_at=payload["occurred_at"],
            items=tuple(StockLine(i["sku"], i["qty"]) for i in payload.get("items") or ()),
            zone=payload.get("zone"),
            bin=payload.get("bin"),
            shipment_id=payload.get("shipment_id"),
            order_ref=payload.get("order_ref"),
            actor=payload.get("actor"),
            location=payload.get("location"),
        )
    known = set(ShipmentEvent.__dataclass_fields__) - {"extra", "warehouse_id", "source_event_type", "status"}
    return ShipmentEvent(
        **{k: payload[k] for k in known if k in payload},
        status=Status(payload["status"]),
        # Fields newer versions add (parcel, service_level) ride along without changing the fold.
        extra={k: v for k, v in payload.items() if k not in known and k not in ("status", "schema_version")},
    )
