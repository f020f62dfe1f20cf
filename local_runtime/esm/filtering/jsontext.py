"""JSON parsing for filtering: numbers keep their text, and a pattern's repeated keys are merged.

Lambda compares numbers in exact matches by their JSON text ("300, 300.0 and 3.0e2 are not considered
equal", docs/EVENT_FILTERING.md), so a parsed number must remember how it was written. Lambda's matcher
also reads a pattern as a stream of fields: a key written twice at one level adds its fields to the rule
instead of replacing the first (AWS's DynamoDB example ANDs two ``"dynamodb"`` keys), which
``json.loads`` alone would drop.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["JsonFloat", "JsonInt", "load_event_json", "load_pattern_json", "number_text"]


class JsonInt(int):
    """An int read from JSON, remembering its text."""

    json_text: str

    def __new__(cls, text: str) -> JsonInt:
        """Parse ``text`` (a JSON integer literal)."""
        obj = super().__new__(cls, text)
        obj.json_text = str(text)
        return obj


class JsonFloat(float):
    """A float read from JSON (fraction or exponent), remembering its text."""

    json_text: str

    def __new__(cls, text: str) -> JsonFloat:
        """Parse ``text`` (a JSON number literal with a fraction or an exponent)."""
        obj = super().__new__(cls, text)
        obj.json_text = str(text)
        return obj


def _no_constants(name: str) -> Any:
    # NaN and Infinity are not JSON (Python accepts them by default; AWS's parser does not).
    raise ValueError(f"{name} is not a JSON value")


def number_text(n: int | float) -> str:
    """The JSON text of ``n``: as it was written when it was parsed here, else its canonical form."""
    text = getattr(n, "json_text", None)
    return text if isinstance(text, str) else json.dumps(n)


def load_event_json(text: str) -> Any:
    """Parse an event document (e.g. a Kafka value); raises ``ValueError`` when it is not JSON."""
    return json.loads(text, parse_int=JsonInt, parse_float=JsonFloat, parse_constant=_no_constants)


def load_pattern_json(text: str) -> Any:
    """Parse a pattern, merging keys written more than once at one level; ``ValueError`` when not JSON."""
    return json.loads(
        text, parse_int=JsonInt, parse_float=JsonFloat, parse_constant=_no_constants, object_pairs_hook=_merge_pairs
    )


def _merge_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        _merge_into(out, key, value)
    return out


def _merge_into(target: dict[str, Any], key: str, value: Any) -> None:
    if key not in target:
        target[key] = value
        return
    old = target[key]
    if isinstance(old, dict) and isinstance(value, dict):
        merged = dict(old)
        for k, v in value.items():
            _merge_into(merged, k, v)
        target[key] = merged
    elif key == "$or" and isinstance(old, list) and isinstance(value, list):
        # Two "$or" at one level must both hold: (a1 or a2) and (b1 or b2) = any of the pairs (ai and bj).
        target[key] = [_merged(a, b) for a in old for b in value]
    else:
        target[key] = value  # the same leaf twice: the later one counts, as in AWS's matcher


def _merged(a: Any, b: Any) -> Any:
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return b  # not objects: validation rejects the "$or" anyway
    out = dict(a)
    for k, v in b.items():
        _merge_into(out, k, v)
    return out
