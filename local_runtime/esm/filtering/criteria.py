"""A mapping's ``FilterCriteria``: the set of patterns, its limits, and the keys a source may filter on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from local_runtime.esm.filtering.matching import pattern_matches
from local_runtime.esm.filtering.syntax import InvalidFilterPattern, parse_filter_pattern, validate_pattern

__all__ = ["DEFAULT_MAX_FILTERS", "MAX_FILTERS_WITH_QUOTA", "EventFilter", "check_filter_criteria", "filter_keys"]

DEFAULT_MAX_FILTERS = 5  # Lambda's default quota of filters per event-source mapping
MAX_FILTERS_WITH_QUOTA = 10  # the most a quota increase allows

# The only top-level keys a source's patterns may name, where Lambda restricts them. Kafka: "only support
# filtering on the value key". DynamoDB says the same of `dynamodb`, yet filters on `eventName` work on AWS
# and appear in AWS's own examples, so the stream mapping accepts any key of its record.
_FILTER_KEYS: dict[str, frozenset[str]] = {"MSK": frozenset({"value"}), "SelfManagedKafka": frozenset({"value"})}


def filter_keys(kind: str) -> frozenset[str] | None:
    """The top-level keys patterns of a ``kind`` mapping may name (None: any key of the record)."""
    return _FILTER_KEYS.get(kind)


class EventFilter:
    """The compiled ``FilterCriteria`` of one mapping: a record passes if any pattern matches."""

    def __init__(
        self,
        patterns: Iterable[Mapping[str, Any] | str] = (),
        *,
        allowed_keys: frozenset[str] | None = None,
        max_filters: int = DEFAULT_MAX_FILTERS,
    ) -> None:
        """Validate ``patterns`` up front, as CreateEventSourceMapping does; raises :class:`InvalidFilterPattern`.

        A pattern is a ``Pattern`` string or its parsed object. ``allowed_keys`` restricts the top-level keys
        (through ``$or``); ``max_filters`` is the account's quota (5 by default, at most 10).
        """
        if not 1 <= max_filters <= MAX_FILTERS_WITH_QUOTA:
            raise ValueError(f"max_filters must be 1..{MAX_FILTERS_WITH_QUOTA}")
        given = list(patterns)
        if len(given) > max_filters:
            raise InvalidFilterPattern(
                f"{len(given)} filters: Lambda allows {max_filters} per event-source mapping"
                f" ({DEFAULT_MAX_FILTERS} by default, up to {MAX_FILTERS_WITH_QUOTA} with a quota increase)")
        compiled: list[Mapping[str, Any]] = []
        for i, p in enumerate(given):
            try:
                if isinstance(p, str):
                    p = parse_filter_pattern(p)
                else:
                    validate_pattern(p)
                if allowed_keys is not None:
                    _check_keys(p, allowed_keys)
            except InvalidFilterPattern as exc:
                raise InvalidFilterPattern(f"Filters[{i}]: {exc}") from exc
            compiled.append(p)
        self.patterns: tuple[Mapping[str, Any], ...] = tuple(compiled)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, event: Any) -> bool:
        """True when there are no filters or when any filter matches ``event`` (parsed JSON)."""
        if not self.patterns:
            return True
        return any(pattern_matches(p, event) for p in self.patterns)


def _check_keys(pattern: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for key, sub in pattern.items():
        if key == "$or":
            for alt in sub:
                _check_keys(alt, allowed)
        elif key not in allowed:
            raise InvalidFilterPattern(
                f"{key!r}: this event source only supports filtering on {', '.join(sorted(allowed))}"
                " (keys are case-sensitive)")


def check_filter_criteria(kind: str, patterns: Iterable[Mapping[str, Any] | str]) -> None:
    """Raise :class:`InvalidFilterPattern` when Lambda would refuse these filters on a ``kind`` mapping."""
    EventFilter(patterns, allowed_keys=filter_keys(kind))
