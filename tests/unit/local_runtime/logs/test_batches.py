"""local_runtime.logs.batches: every request within PutLogEvents' limits, lines in timestamp order."""

from __future__ import annotations

from local_runtime.logs.batches import (
    EVENT_OVERHEAD_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_BATCH_SPAN_MS,
    MAX_MESSAGE_BYTES,
    LogLine,
    batches,
    fit_message,
)


def line(timestamp_ms: int, message: str = "x") -> LogLine:
    return LogLine("/aws/lambda/Fn", "2024/01/01/[$LATEST]ab", timestamp_ms, message)


def test_sorted_by_timestamp_and_stable_within_a_millisecond() -> None:
    lines = [line(5, "c"), line(1, "a"), line(5, "d"), line(3, "b"), line(5, "e")]
    assert [[x.message for x in batch] for batch in batches(lines)] == [["a", "b", "c", "d", "e"]]


def test_at_most_ten_thousand_events_per_request() -> None:
    sizes = [len(batch) for batch in batches(line(i) for i in range(2 * MAX_BATCH_EVENTS + 1))]
    assert sizes == [MAX_BATCH_EVENTS, MAX_BATCH_EVENTS, 1]


def test_bytes_count_utf8_plus_26_per_event_and_a_request_may_be_exactly_full() -> None:
    # Four events filling a request exactly (multi-byte characters count as their UTF-8 bytes), then one more.
    per_event = MAX_BATCH_BYTES // 4 - EVENT_OVERHEAD_BYTES
    message = "é" * (per_event // 2)  # 2 bytes each
    assert len(message.encode()) == per_event
    result = list(batches([line(i, message) for i in range(5)]))
    assert [len(batch) for batch in result] == [4, 1]
    assert sum(x.size() for x in result[0]) == MAX_BATCH_BYTES


def test_a_request_spans_at_most_24_hours() -> None:
    lines = [line(0), line(MAX_BATCH_SPAN_MS), line(MAX_BATCH_SPAN_MS + 1), line(MAX_BATCH_SPAN_MS + 2)]
    assert [[x.timestamp_ms for x in b] for b in batches(lines)] == [
        [0, MAX_BATCH_SPAN_MS], [MAX_BATCH_SPAN_MS + 1, MAX_BATCH_SPAN_MS + 2]]


def test_no_lines_no_request() -> None:
    assert list(batches([])) == []


def test_fit_message_cuts_long_lines_on_a_character_boundary_and_fills_empty_ones() -> None:
    assert fit_message("") == "\n"
    assert fit_message("short") == "short"
    long = "a" + "€" * MAX_MESSAGE_BYTES  # 3 bytes each: the cut falls inside a character
    cut = fit_message(long)
    assert long.startswith(cut)
    assert MAX_MESSAGE_BYTES - 3 < len(cut.encode()) <= MAX_MESSAGE_BYTES
