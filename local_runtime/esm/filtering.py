"""AWS Lambda event-filtering patterns (``FilterCriteria.Filters[].Pattern``), one implementation
shared by the Kafka and the DynamoDB Streams mappings.

The syntax is the EventBridge-style pattern language that Lambda documents under "Filter rule syntax":

* a pattern is a JSON object; every key in it must match (AND); nested objects descend into the event;
* a leaf is a list of alternatives (OR); each alternative is either a literal (string, number, boolean,
  ``null``, ``""``) compared exactly, or an operator object:
  ``{"prefix": s}``, ``{"suffix": s}``, ``{"equals-ignore-case": s}``, ``{"wildcard": "a*b"}``,
  ``{"anything-but": v | [v, ...] | {"prefix": s} | {"suffix": s}}``,
  ``{"numeric": [">", 0, "<=", 5]}``, ``{"exists": true | false}``;
* ``"$or": [pattern, ...]`` matches when any sub-pattern matches (together with its sibling keys);
* when the event value is a list, a leaf matches if any element matches (and a nested key is looked up in
  every object of the list);
* a field that is absent matches only ``{"exists": false}``;
* a record passes the mapping's criteria when ANY of its (up to five) filters matches; no filters = pass.

Invalid patterns raise :class:`InvalidFilterPattern` when compiled, as AWS rejects them at
CreateEventSourceMapping time rather than at delivery.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["EventFilter", "InvalidFilterPattern", "matches_pattern"]

_MISSING = object()  # sentinel: the field does not exist in the event
_NUMERIC_OPS = {"=", "<", "<=", ">", ">="}
_LEAF_OPERATORS = {
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "exists",
}


class InvalidFilterPattern(ValueError):
    """A filter pattern AWS would refuse (unknown operator, wrong operand type, bad shape)."""


def _is_number(v: Any) -> bool:
    # bool is an int subclass in Python, but JSON true/false are not numbers for the matcher.
    return isinstance(v, int | float) and not isinstance(v, bool)


def _validate_leaf(alternatives: Any, path: str) -> None:
    if not isinstance(alternatives, list):
        raise InvalidFilterPattern(f"{path}: a leaf must be a list of match values, got {alternatives!r}")
    if not alternatives:
        raise InvalidFilterPattern(f"{path}: empty match list")
    for alt in alternatives:
        if alt is None or isinstance(alt, str | bool) or _is_number(alt):
            continue
        if not isinstance(alt, dict) or len(alt) != 1:
            raise InvalidFilterPattern(f"{path}: invalid match value {alt!r}")
        op, operand = next(iter(alt.items()))
        if op not in _LEAF_OPERATORS:
            raise InvalidFilterPattern(f"{path}: unknown operator {op!r}")
        if op in {"prefix", "suffix", "equals-ignore-case", "wildcard"} and not isinstance(operand, str):
            raise InvalidFilterPattern(f"{path}: {op} needs a string")
        if op == "exists" and not isinstance(operand, bool):
            raise InvalidFilterPattern(f"{path}: exists needs true or false")
        if op == "numeric":
            _validate_numeric(operand, path)
        if op == "anything-but":
            if isinstance(operand, dict):
                if len(operand) != 1 or next(iter(operand)) not in {"prefix", "suffix"}:
                    raise InvalidFilterPattern(f"{path}: anything-but accepts only prefix/suffix objects")
                if not isinstance(next(iter(operand.values())), str):
                    raise InvalidFilterPattern(f"{path}: anything-but prefix/suffix needs a string")
            else:
                values = operand if isinstance(operand, list) else [operand]
                for v in values:
                    if not (v is None or isinstance(v, str | bool) or _is_number(v)):
                        raise InvalidFilterPattern(f"{path}: invalid anything-but value {v!r}")


def _validate_numeric(operand: Any, path: str) -> None:
    if not isinstance(operand, list) or len(operand) not in (2, 4) or len(operand) % 2:
        raise InvalidFilterPattern(f"{path}: numeric needs [op, n] or [op, n, op, n]")
    for i in range(0, len(operand), 2):
        if operand[i] not in _NUMERIC_OPS or not _is_number(operand[i + 1]):
            raise InvalidFilterPattern(f"{path}: invalid numeric comparison {operand!r}")


def _validate(pattern: Any, path: str = "$") -> None:
    if not isinstance(pattern, dict):
        raise InvalidFilterPattern(f"{path}: a pattern must be a JSON object")
    if not pattern:
        raise InvalidFilterPattern(f"{path}: empty pattern object")
    for key, sub in pattern.items():
        if key == "$or":
            if not isinstance(sub, list) or len(sub) < 2:
                raise InvalidFilterPattern(f"{path}.$or: needs a list of at least two patterns")
            for i, alt in enumerate(sub):
                _validate(alt, f"{path}.$or[{i}]")
        elif isinstance(sub, dict):
            _validate(sub, f"{path}.{key}")
        else:
            _validate_leaf(sub, f"{path}.{key}")


def _numeric_ok(value: float, operand: Sequence[Any]) -> bool:
    for i in range(0, len(operand), 2):
        op, bound = operand[i], operand[i + 1]
        ok = {
            "=": value == bound,
            "<": value < bound,
            "<=": value <= bound,
            ">": value > bound,
            ">=": value >= bound,
        }[op]
        if not ok:
            return False
    return True


def _literal_equal(alt: Any, value: Any) -> bool:
    if alt is None:
        return value is None
    if isinstance(alt, bool) or isinstance(value, bool):
        # true must not equal 1 (Python would say it does)
        return isinstance(alt, bool) and isinstance(value, bool) and alt == value
    if _is_number(alt):
        # Numbers compare by value (5 matches 5.0), never against strings ("5").
        return _is_number(value) and float(alt) == float(value)
    return isinstance(value, str) and alt == value


def _scalar_matches(alt: Any, value: Any) -> bool:
    """One alternative against one (non-list) present value."""
    if not isinstance(alt, dict):
        return _literal_equal(alt, value)
    op, operand = next(iter(alt.items()))
    if op == "exists":
        return operand is True
    if op == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if op == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == operand.casefold()
    if op == "wildcard":
        # Only '*' is special in AWS wildcards (unlike fnmatch, '?' and '[]' are literal).
        regex = ".*".join(re.escape(part) for part in operand.split("*"))
        return isinstance(value, str) and re.fullmatch(regex, value, re.DOTALL) is not None
    if op == "numeric":
        return _is_number(value) and _numeric_ok(float(value), operand)
    if op == "anything-but":
        if isinstance(operand, dict):
            sub_op, s = next(iter(operand.items()))
            if not isinstance(value, str):
                return True
            return not (value.startswith(s) if sub_op == "prefix" else value.endswith(s))
        excluded = operand if isinstance(operand, list) else [operand]
        return not any(_literal_equal(x, value) for x in excluded)
    raise InvalidFilterPattern(f"unknown operator {op!r}")  # pragma: no cover - validated earlier


def _leaf_matches(alternatives: list[Any], value: Any) -> bool:
    if value is _MISSING:
        return any(isinstance(a, dict) and a.get("exists") is False for a in alternatives)
    if isinstance(value, list):
        if not value:
            # An empty array has no leaf to match; only exists:false treats it as absent.
            return any(isinstance(a, dict) and a.get("exists") is False for a in alternatives)
        return any(_leaf_matches(alternatives, v) for v in value)
    if isinstance(value, dict):
        # Objects are not leaves; only an existence test can say something about them.
        return any(isinstance(a, dict) and "exists" in a and a["exists"] is True for a in alternatives)
    return any(_scalar_matches(a, value) for a in alternatives)


def _lookup(event: Any, key: str) -> Any:
    if isinstance(event, dict):
        return event.get(key, _MISSING)
    if isinstance(event, list):
        # Arrays of objects: the pattern key applies to every element (EventBridge flattening).
        found = [e[key] for e in event if isinstance(e, dict) and key in e]
        return found if found else _MISSING
    return _MISSING


def _object_matches(pattern: Mapping[str, Any], event: Any) -> bool:
    for key, sub in pattern.items():
        if key == "$or":
            if not any(_object_matches(alt, event) for alt in sub):
                return False
            continue
        value = _lookup(event, key)
        if isinstance(sub, dict):
            if value is _MISSING:
                # A nested pattern on a missing object can still be satisfied by exists:false leaves.
                if not _object_matches(sub, {}):
                    return False
            elif isinstance(value, list):
                if not any(_object_matches(sub, v) for v in value if isinstance(v, dict | list)):
                    return False
            elif not _object_matches(sub, value):
                return False
        elif not _leaf_matches(sub, value):
            return False
    return True


def matches_pattern(pattern: Mapping[str, Any], event: Any) -> bool:
    """True when ``event`` (parsed JSON) satisfies one filter ``pattern``.

    The pattern is validated first; an invalid one raises :class:`InvalidFilterPattern`.
    """
    _validate(pattern)
    return _object_matches(pattern, event)


class EventFilter:
    """The compiled ``FilterCriteria`` of one mapping: a record passes if any pattern matches."""

    def __init__(self, patterns: Iterable[Mapping[str, Any]] = ()) -> None:
        """Validate ``patterns`` (already parsed JSON objects) once, up front."""
        self.patterns: tuple[Mapping[str, Any], ...] = tuple(patterns)
        if len(self.patterns) > 10:
            # AWS allows 5 by default (10 on request); more is certainly a template error.
            raise InvalidFilterPattern("at most 10 filters per event-source mapping")
        for p in self.patterns:
            _validate(p)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, event: Any) -> bool:
        """True when there are no filters or when any filter matches ``event``."""
        if not self.patterns:
            return True
        return any(_object_matches(p, event) for p in self.patterns)
