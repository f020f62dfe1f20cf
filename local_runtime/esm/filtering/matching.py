"""Does an event satisfy one (already validated) filter pattern? EventBridge's semantics, as Lambda runs them.

The matcher sees the event as AWS's does, as paths to leaves (docs/EVENT_FILTERING.md):

* every key of the pattern must match (AND); a leaf's alternatives are ORed; ``"$or"`` ORs sub-patterns;
* arrays are flattened: a leaf matches if any element matches, and a nested pattern must match within
  ONE element of an array of objects (fields from different elements never combine);
* only leaves exist: an object (or an array holding only objects) at a path is not a value there, so
  ``{"exists": true}`` does not match it and ``{"exists": false}`` does; a missing or empty value matches
  only ``{"exists": false}``; ``null`` is a value (it exists);
* exact strings compare character by character; exact numbers compare by their JSON text (300, 300.0 and
  3.0e2 differ) and never equal strings; ``numeric`` compares JSON numbers only;
* ``prefix``, ``suffix``, ``equals-ignore-case``, ``wildcard``, ``exactly`` and ``cidr`` only match strings;
* ``anything-but`` matches every value not excluded, values of another type included (its numbers
  compare by value).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from local_runtime.esm.filtering.jsontext import number_text
from local_runtime.esm.filtering.syntax import is_number, validate_pattern

__all__ = ["matches_pattern", "pattern_matches"]

_MISSING = object()  # the event has no such field


def pattern_matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """True when ``event`` (parsed JSON) satisfies ``pattern``, which must already be valid."""
    return _object_matches(pattern, event)


def matches_pattern(pattern: Mapping[str, Any], event: Any) -> bool:
    """Validate ``pattern`` (raising ``InvalidFilterPattern`` like Lambda would), then match ``event``."""
    validate_pattern(pattern)
    return _object_matches(pattern, event)


def _object_matches(pattern: Mapping[str, Any], event: Any) -> bool:
    for key, sub in pattern.items():
        if key == "$or":
            if not any(_object_matches(alt, event) for alt in sub):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(sub, Mapping):
            objects = _objects_at(value)
            # With no object below, every path of `sub` is absent (only exists:false can hold).
            if not any(_object_matches(sub, o) for o in objects or [{}]):
                return False
        elif not _leaf_matches(sub, value):
            return False
    return True


def _objects_at(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return [o for v in value for o in _objects_at(v)]
    return []


def _leaves_at(value: Any) -> list[Any]:
    if value is _MISSING or isinstance(value, Mapping):
        return []
    if isinstance(value, list):
        return [x for v in value for x in _leaves_at(v)]
    return [value]


def _leaf_matches(alternatives: Sequence[Any], value: Any) -> bool:
    leaves = _leaves_at(value)
    for alt in alternatives:
        if isinstance(alt, Mapping) and "exists" in alt:
            if alt["exists"] is bool(leaves):
                return True
        elif any(_scalar_matches(alt, leaf) for leaf in leaves):
            return True
    return False


def _literal_equal(alt: Any, value: Any) -> bool:
    if alt is None or isinstance(alt, bool):
        return value is alt  # null, true and false are singletons (and true is not 1)
    if is_number(alt):
        return is_number(value) and number_text(alt) == number_text(value)
    return isinstance(value, str) and value == alt


def _fold(s: str) -> str:
    return s.lower()


def _scalar_matches(alt: Any, value: Any) -> bool:
    """One alternative against one leaf value (never a list or an object)."""
    if not isinstance(alt, Mapping):
        return _literal_equal(alt, value)
    ((op, operand),) = alt.items()
    if op == "numeric":
        return is_number(value) and _in_range(float(value), operand)
    if op == "anything-but":
        return _anything_but(operand, value)
    if not isinstance(value, str):
        return False  # every other operator works on strings only
    if op in ("prefix", "suffix"):
        return _affix(op, operand, value)
    return _string_op(op, operand, value)


def _affix(op: str, operand: str | Mapping[str, str], value: str) -> bool:
    if isinstance(operand, Mapping):
        needle, value = _fold(operand["equals-ignore-case"]), _fold(value)
    else:
        needle = operand
    return value.startswith(needle) if op == "prefix" else value.endswith(needle)


def _string_op(op: str, operand: str, value: str) -> bool:
    if op == "exactly":
        return value == operand
    if op == "equals-ignore-case":
        return _fold(value) == _fold(operand)
    if op == "wildcard":
        return _wildcard_regex(operand).fullmatch(value) is not None
    if op == "cidr":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(operand, strict=False)
        except ValueError:
            return False
    raise AssertionError(f"unvalidated operator {op!r}")  # pragma: no cover - syntax.validate_pattern ran first


def _in_range(value: float, operand: Sequence[Any]) -> bool:
    for op, bound in zip(operand[0::2], operand[1::2], strict=True):
        b = float(bound)
        if not {"=": value == b, "<": value < b, "<=": value <= b, ">": value > b, ">=": value >= b}[op]:
            return False
    return True


def _anything_but(operand: Any, value: Any) -> bool:
    if isinstance(operand, Mapping):
        ((sub_op, excluded),) = operand.items()
        if not isinstance(value, str):
            return True  # a string test cannot exclude a value that is not a string
        for x in excluded if isinstance(excluded, list) else [excluded]:
            if sub_op in ("prefix", "suffix") and _affix(sub_op, x, value):
                return False
            if sub_op in ("equals-ignore-case", "wildcard") and _string_op(sub_op, x, value):
                return False
        return True
    for x in operand if isinstance(operand, list) else [operand]:
        if is_number(x) and is_number(value) and float(x) == float(value):
            return False
        if isinstance(x, str) and value == x:
            return False
    return True


@functools.lru_cache(maxsize=256)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    """``*`` is any run of characters; ``\\*`` and ``\\\\`` are a literal ``*`` and ``\\`` (nothing else is special)."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if c == "*" else re.escape(c))
        i += 1
    return re.compile("".join(parts), re.DOTALL)
