"""AWS Lambda event filtering (``FilterCriteria.Filters[].Pattern``), shared by the Kafka and the DynamoDB
Streams mappings. What AWS documents and how it is emulated: docs/EVENT_FILTERING.md.

* ``syntax`` - the checks Lambda makes when a mapping is created (:class:`InvalidFilterPattern`);
* ``jsontext`` - JSON parsing that keeps numbers' text and merges a pattern's repeated keys;
* ``matching`` - one pattern against one event;
* ``criteria`` - a mapping's filters (:class:`EventFilter`): quota, per-source keys, any-pattern-passes.

What is a source's own (Kafka's ``value`` decoding) lives beside its mapping (``esm.kafka.filtering``).
"""

from local_runtime.esm.filtering.criteria import (
    DEFAULT_MAX_FILTERS,
    MAX_FILTERS_WITH_QUOTA,
    EventFilter,
    check_filter_criteria,
    filter_keys,
)
from local_runtime.esm.filtering.jsontext import load_event_json
from local_runtime.esm.filtering.matching import matches_pattern, pattern_matches
from local_runtime.esm.filtering.syntax import MAX_PATTERN_CHARS, InvalidFilterPattern, parse_filter_pattern

__all__ = [
    "DEFAULT_MAX_FILTERS",
    "MAX_FILTERS_WITH_QUOTA",
    "MAX_PATTERN_CHARS",
    "EventFilter",
    "InvalidFilterPattern",
    "check_filter_criteria",
    "filter_keys",
    "load_event_json",
    "matches_pattern",
    "parse_filter_pattern",
    "pattern_matches",
]
