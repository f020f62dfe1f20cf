"""What a filter pattern may say: the checks Lambda makes when a mapping is created or updated.

Lambda refuses a bad pattern at CreateEventSourceMapping ("Invalid filter pattern definition"), never at
delivery, so everything here raises :class:`InvalidFilterPattern` up front. The rules are those of
EventBridge's pattern language, which Lambda documents as its own (docs/EVENT_FILTERING.md):

* a pattern is a non-empty JSON object of at most 4096 characters; every value in it is a non-empty
  object (descend) or a non-empty array (a leaf: alternatives);
* an alternative is a string, number, ``true``/``false``/``null`` or a one-key operator object;
* ``"$or"`` takes an array of at least two non-empty objects, and operator names cannot be field names
  inside them;
* ``numeric`` is ``["=", n]``, ``[">"|">=", n]``, ``["<"|"<=", n]`` or ``[">"|">=", n, "<"|"<=", m]``;
* ``anything-but`` takes a string, a number, a non-empty array of only strings or only numbers, or one of
  ``{"prefix"|"suffix"|"equals-ignore-case"|"wildcard": string or array of strings}``;
* ``prefix``/``suffix`` take a string or ``{"equals-ignore-case": string}``; ``wildcard`` a string with no
  ``**`` whose only escapes are ``\\*`` and ``\\\\``; ``cidr`` an IP network; ``exists`` a boolean.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any

from local_runtime.esm.filtering.jsontext import load_pattern_json

__all__ = ["MAX_PATTERN_CHARS", "InvalidFilterPattern", "parse_filter_pattern", "validate_pattern"]

MAX_PATTERN_CHARS = 4096  # Filter.Pattern length limit of the Lambda API

_STRING_OPERATORS = {"exactly", "equals-ignore-case", "wildcard", "cidr"}
_OPERATORS = {*_STRING_OPERATORS, "prefix", "suffix", "anything-but", "numeric", "exists"}
_ANYTHING_BUT_OBJECTS = {"prefix", "suffix", "equals-ignore-case", "wildcard"}
# Names the matcher keeps for itself: they cannot be field names inside "$or" (AWS's event-ruler list).
_RESERVED_IN_OR = {
    *_OPERATORS, "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
    "date-on-or-after", "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
    "ip-address-not-in-range",
}


class InvalidFilterPattern(ValueError):
    """A filter pattern (or set of filters) that Lambda would refuse when the mapping is created."""


def is_number(v: Any) -> bool:
    """True for JSON numbers (``bool`` is an ``int`` in Python but ``true`` is not a number in JSON)."""
    return isinstance(v, int | float) and not isinstance(v, bool)


def parse_filter_pattern(text: str) -> dict[str, Any]:
    """Parse and validate one ``Filters[].Pattern`` string as Lambda does; raises :class:`InvalidFilterPattern`."""
    if len(text) > MAX_PATTERN_CHARS:
        raise InvalidFilterPattern(f"Pattern is {len(text)} characters long; Lambda allows at most {MAX_PATTERN_CHARS}")
    try:
        pattern = load_pattern_json(text)
    except ValueError as exc:
        raise InvalidFilterPattern(f"Pattern is not valid JSON: {exc}") from exc
    validate_pattern(pattern)
    return pattern  # validate_pattern proved it is an object


def validate_pattern(pattern: Any) -> None:
    """Raise :class:`InvalidFilterPattern` unless ``pattern`` (parsed JSON) is a pattern Lambda accepts."""
    if isinstance(pattern, Mapping) and len(json.dumps(pattern, separators=(",", ":"))) > MAX_PATTERN_CHARS:
        # Given as an object: its most compact text must fit (the original text can only be longer).
        raise InvalidFilterPattern(f"Pattern is longer than {MAX_PATTERN_CHARS} characters")
    _object(pattern, "$", in_or=False)


def _object(pattern: Any, path: str, *, in_or: bool) -> None:
    if not isinstance(pattern, Mapping):
        raise InvalidFilterPattern(f"{path}: a pattern must be a JSON object")
    if not pattern:
        raise InvalidFilterPattern(f"{path}: empty objects are not allowed")
    for key, sub in pattern.items():
        where = f"{path}.{key}"
        if key == "$or":
            if not isinstance(sub, list) or len(sub) < 2:
                raise InvalidFilterPattern(f"{where}: needs an array of at least two objects")
            for i, alt in enumerate(sub):
                _object(alt, f"{where}[{i}]", in_or=True)
        elif in_or and key in _RESERVED_IN_OR:
            raise InvalidFilterPattern(f"{where}: {key!r} is reserved and cannot be a field name inside $or")
        elif isinstance(sub, Mapping):
            _object(sub, where, in_or=in_or)
        elif isinstance(sub, list):
            _leaf(sub, where)
        else:
            raise InvalidFilterPattern(f"{where}: must be an object or an array, got {sub!r}")


def _leaf(alternatives: list[Any], path: str) -> None:
    if not alternatives:
        raise InvalidFilterPattern(f"{path}: empty arrays are not allowed")
    for alt in alternatives:
        if alt is None or isinstance(alt, str | bool) or is_number(alt):
            continue
        if not isinstance(alt, Mapping):
            raise InvalidFilterPattern(f"{path}: a match value must be a string, number, true, false, null or "
                                       f"an operator object, got {alt!r}")
        if len(alt) != 1:
            raise InvalidFilterPattern(f"{path}: an operator object has exactly one key, got {dict(alt)!r}")
        ((op, operand),) = alt.items()
        _operator(op, operand, f"{path}.{op}")


def _operator(op: str, operand: Any, path: str) -> None:
    if op in ("prefix", "suffix"):
        if isinstance(operand, Mapping):
            if set(operand) != {"equals-ignore-case"} or not isinstance(operand["equals-ignore-case"], str):
                raise InvalidFilterPattern(f"{path}: only {{\"equals-ignore-case\": string}} can be nested here")
        elif not isinstance(operand, str):
            raise InvalidFilterPattern(f"{path}: needs a string")
    elif op in _STRING_OPERATORS:
        if not isinstance(operand, str):
            raise InvalidFilterPattern(f"{path}: needs a string")
        if op == "wildcard":
            check_wildcard(operand, path)
        if op == "cidr":
            try:
                ipaddress.ip_network(operand, strict=False)
            except ValueError as exc:
                raise InvalidFilterPattern(f"{path}: not an IP network: {operand!r}") from exc
    elif op == "exists":
        if not isinstance(operand, bool):
            raise InvalidFilterPattern(f"{path}: needs true or false")
    elif op == "numeric":
        _numeric(operand, path)
    elif op == "anything-but":
        _anything_but(operand, path)
    else:
        raise InvalidFilterPattern(f"{path}: unknown operator {op!r}")


def check_wildcard(value: str, path: str) -> None:
    """``*`` may not repeat; a backslash may only escape ``*`` or another backslash."""
    i = 0
    while i < len(value):
        c = value[i]
        if c == "*" and value[i + 1:i + 2] == "*":
            raise InvalidFilterPattern(f"{path}: consecutive wildcard characters at position {i}")
        if c == "\\":
            if value[i + 1:i + 2] not in ("*", "\\"):
                raise InvalidFilterPattern(f"{path}: invalid escape character at position {i}")
            i += 1
        i += 1


def _numeric(operand: Any, path: str) -> None:
    shapes: dict[tuple[str | None, ...], int] = {
        ("=",): 2, (">",): 2, (">=",): 2, ("<",): 2, ("<=",): 2,
        (">", "<"): 4, (">", "<="): 4, (">=", "<"): 4, (">=", "<="): 4,
    }
    ops = tuple(o if isinstance(o, str) else None for o in operand[0::2]) if isinstance(operand, list) else ()
    if shapes.get(ops) != (len(operand) if isinstance(operand, list) else -1):
        raise InvalidFilterPattern(f"{path}: needs [op, n] or [\">\"|\">=\", n, \"<\"|\"<=\", m], got {operand!r}")
    if not all(is_number(n) for n in operand[1::2]):
        raise InvalidFilterPattern(f"{path}: bounds must be numbers, got {operand!r}")


def _anything_but(operand: Any, path: str) -> None:
    if isinstance(operand, Mapping):
        if len(operand) != 1 or next(iter(operand)) not in _ANYTHING_BUT_OBJECTS:
            raise InvalidFilterPattern(f"{path}: the object form takes one of {sorted(_ANYTHING_BUT_OBJECTS)}")
        ((sub_op, values),) = operand.items()
        values = values if isinstance(values, list) else [values]
        for v in values:
            if not isinstance(v, str):
                raise InvalidFilterPattern(f"{path}.{sub_op}: needs strings, got {v!r}")
            if sub_op in ("prefix", "suffix") and not v:
                raise InvalidFilterPattern(f"{path}.{sub_op}: an empty {sub_op} is not allowed")
            if sub_op == "wildcard":
                check_wildcard(v, f"{path}.{sub_op}")
        return
    values = operand if isinstance(operand, list) else [operand]
    strings = all(isinstance(v, str) for v in values)
    numbers = all(is_number(v) for v in values)
    if not values or not (strings or numbers):
        raise InvalidFilterPattern(f"{path}: needs a string, a number, or an array of only strings or only numbers")
