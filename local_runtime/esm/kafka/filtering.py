"""``FilterCriteria`` for Kafka records: patterns see the record with ``value`` parsed as JSON.

A value that is not JSON (or a tombstone) never matches a pattern on ``value``: such records are
checked only against the patterns that do not mention ``value`` (see docs/AWS_EVENT_SOURCES.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from local_runtime.esm.filtering import EventFilter

__all__ = ["KafkaRecordFilter"]


class KafkaRecordFilter:
    """The compiled ``FilterCriteria`` of a Kafka mapping."""

    def __init__(self, patterns: Iterable[Mapping[str, Any]]) -> None:
        """Compile ``patterns`` (parsed JSON objects); raises ``InvalidFilterPattern`` like AWS would."""
        patterns = tuple(patterns)
        self._all = EventFilter(patterns)
        self._without_value = EventFilter(p for p in patterns if "value" not in p)

    def __bool__(self) -> bool:
        return bool(self._all)

    def matches(self, record: Mapping[str, Any], value: bytes | None) -> bool:
        """True when ``record`` (an event record, ``value`` base64) passes; ``value`` is the raw value."""
        subject = dict(record)
        parsed = _json_value(value)
        if parsed is None:
            subject.pop("value", None)
            # Only patterns that do not look at `value` can match (an empty EventFilter would match
            # everything, so check that there is one).
            return bool(self._without_value) and self._without_value.matches(subject)
        subject["value"] = parsed[0]
        return self._all.matches(subject)


def _json_value(value: bytes | None) -> tuple[Any] | None:
    """``(parsed,)`` when ``value`` is a JSON document, else ``None`` (a JSON ``null`` is ``(None,)``)."""
    if value is None:
        return None
    try:
        return (json.loads(value.decode("utf-8")),)
    except (UnicodeDecodeError, ValueError):
        return None
