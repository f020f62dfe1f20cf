"""``FilterCriteria`` for Kafka records, as Lambda documents them for MSK and self-managed Kafka.

* Patterns may name only ``value`` (at the top level, or in every ``$or`` branch); anything else (``key``,
  ``headers``, ``topic``, ``Value``...) is refused when the mapping is created.
* Lambda decodes the value as UTF-8, then reads it as JSON when it is JSON, else as a plain string:
  ``{"value": {"device_ID": [{"prefix": "AB"}]}}`` tests a JSON object's fields and
  ``{"value": [{"prefix": "Order"}]}`` tests the text ``OrderCreated ...`` itself. A JSON scalar (``"abc"``,
  ``42``, ``true``, ``null``) is a leaf value of its JSON type.
* A pattern whose ``value`` does not fit the value's format (an object pattern on a plain string or JSON
  scalar, a leaf pattern on a JSON object or array) never matches, nor does any pattern on a value that is
  not UTF-8: AWS then "filters on the other metadata properties only", and Kafka has none to filter on.
* A tombstone (null value) has no ``value``: only ``{"exists": false}`` sees it.

Details and sources: docs/EVENT_FILTERING.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from local_runtime.esm.filtering import EventFilter, filter_keys, load_event_json, pattern_matches

__all__ = ["KafkaRecordFilter", "kafka_filter_subject"]

ValueFormat = Literal["absent", "binary", "text", "json"]


class KafkaRecordFilter:
    """The compiled ``FilterCriteria`` of a Kafka mapping."""

    def __init__(self, patterns: Iterable[Mapping[str, Any] | str]) -> None:
        """Compile ``patterns`` (Pattern strings or parsed objects); raises ``InvalidFilterPattern`` as Lambda
        would refuse them (bad syntax, too many filters, a key other than ``value``)."""
        self._filter = EventFilter(patterns, allowed_keys=filter_keys("MSK"))

    def __bool__(self) -> bool:
        return bool(self._filter)

    def matches(self, value: bytes | None) -> bool:
        """True when a record whose raw value is ``value`` passes (always, without filters)."""
        if not self._filter:
            return True
        fmt, parsed = kafka_filter_subject(value)
        return any(_matches(p, fmt, parsed) for p in self._filter.patterns)


def kafka_filter_subject(value: bytes | None) -> tuple[ValueFormat, Any]:
    """How Lambda sees a raw value for filtering: its format and the value the patterns test."""
    if value is None:
        return "absent", None
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return "binary", None
    try:
        return "json", load_event_json(text)
    except ValueError:
        return "text", text


def _matches(pattern: Mapping[str, Any], fmt: ValueFormat, parsed: Any) -> bool:
    # Validated: the only keys are "value" and "$or" (whose branches hold "value" and "$or" in turn).
    for key, sub in pattern.items():
        if key == "$or":
            if not any(_matches(alt, fmt, parsed) for alt in sub):
                return False
        elif not _value_matches(sub, fmt, parsed):
            return False
    return True


def _value_matches(sub: Any, fmt: ValueFormat, parsed: Any) -> bool:
    if fmt == "binary":
        return False
    if fmt == "absent":
        return pattern_matches({"value": sub}, {})
    document = fmt == "json" and isinstance(parsed, dict | list)
    if isinstance(sub, Mapping) is not document:
        return False  # the pattern's format is not the value's
    return pattern_matches({"value": sub}, {"value": parsed})
