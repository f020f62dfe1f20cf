"""Kafka ``FilterCriteria`` as Lambda documents them for Amazon MSK and self-managed Apache Kafka.

Source: "Filtering events from Amazon MSK and self-managed Apache Kafka event sources",
https://docs.aws.amazon.com/lambda/latest/dg/kafka-filtering.html: only the ``value`` key can be filtered;
"Lambda decodes Kafka byte arrays into UTF-8 before applying filter criteria"; the value is read "either in
valid JSON format or as plain strings"; the table of formats (plain string / valid JSON / non-UTF-8 against a
plain-string, JSON or no pattern), where a mismatch means "Lambda filters (on the other metadata properties
only)", and Kafka has no other property to filter on, so the record is dropped ("Lambda drops messages that
don't match all fields included in the filter", invocation-eventfiltering.html). Choices where AWS is silent
(JSON scalars, arrays, tombstones) are written down in docs/EVENT_FILTERING.md.
"""

from __future__ import annotations

import json

import pytest

from local_runtime.esm.kafka.filtering import KafkaRecordFilter, kafka_filter_subject

DEVICE = json.dumps({"device_ID": "AB1234", "session": {"start_time": "yyyy-mm-ddThh:mm:ss", "duration": 162}})
PREFIX_AB = '{ "value" : { "device_ID" : [ { "prefix": "AB" } ] } }'  # the page's JSON example
NOT_ERROR = '{ "value" : [ { "anything-but": [ "error" ] } ] }'  # the page's plain-string example
ORDER = '{"value": [{"prefix": "Order"}]}'
NOT_UTF8 = b"\xff\xfeOrder \xc3\x28"

CASES = [
    # the page's examples
    ("json/prefix AB", DEVICE.encode(), PREFIX_AB, True),
    ("json/prefix AB miss", DEVICE.replace("AB1234", "CD1234").encode(), PREFIX_AB, False),
    ("text/anything-but error", b"error", NOT_ERROR, False),
    ("text/anything-but other", b"all good", NOT_ERROR, True),
    ("text/prefix Order", b"OrderCreated 42 units", ORDER, True),
    ("text/prefix Order miss", b"PaymentTaken", ORDER, False),
    # the page's format table
    ("plain string + JSON pattern", b"device_ID AB1234", PREFIX_AB, False),
    ("plain string + JSON pattern (exists:false)", b"hello", '{"value": {"x": [{"exists": false}]}}', False),
    ("valid JSON + plain-string pattern", DEVICE.encode(), NOT_ERROR, False),
    ("valid JSON is not read as text", DEVICE.encode(), '{"value": [{"prefix": "{"}]}', False),
    ("non-UTF-8 + plain-string pattern", NOT_UTF8, NOT_ERROR, False),
    ("non-UTF-8 + JSON pattern", NOT_UTF8, '{"value": {"x": [{"exists": false}]}}', False),
    ("non-UTF-8 + exists:false", NOT_UTF8, '{"value": [{"exists": false}]}', False),
    ("UTF-16 JSON (another encoding)", json.dumps({"device_ID": "AB1"}).encode("utf-16"), PREFIX_AB, False),
    ("invalid UTF-8 inside JSON", b'{"device_ID": "AB\xff"}', PREFIX_AB, False),
    # keys are case-sensitive inside the value too
    ("json/key case", DEVICE.encode(), '{"value": {"Device_ID": [{"prefix": "AB"}]}}', False),
    # JSON scalars are leaf values of their JSON type (AWS is silent; see docs/EVENT_FILTERING.md)
    ("json string", b'"OrderCreated"', ORDER, True),
    ("json string is unquoted", b'"OrderCreated"', '{"value": ["\\"OrderCreated\\""]}', False),
    ("json number", b"42", '{"value": [42]}', True),
    ("json number is not text", b"42", '{"value": ["42"]}', False),
    ("json number numeric", b"42", '{"value": [{"numeric": [">", 40]}]}', True),
    ("json true", b"true", '{"value": [true]}', True),
    ("json null exists", b"null", '{"value": [{"exists": true}]}', True),
    ("json scalar + JSON pattern", b"42", '{"value": {"n": [42]}}', False),
    # arrays are JSON documents: object patterns look inside their objects, leaf patterns do not fit
    ("json array of objects", b'[{"a": 1}, {"a": 2}]', '{"value": {"a": [2]}}', True),
    ("json array + plain-string pattern", b"[1, 2]", '{"value": [1]}', False),
    # numbers compare as written (invocation-eventfiltering.html)
    ("json 300.0 is not 300", b'{"n": 300.0}', '{"value": {"n": [300]}}', False),
    ("json numeric = 300", b'{"n": 300.0}', '{"value": {"n": [{"numeric": ["=", 300]}]}}', True),
    # surrounding whitespace is still JSON; an empty value is the empty string
    ("json with whitespace", b'  {"device_ID": "AB9"}\n', PREFIX_AB, True),
    ("empty value", b"", '{"value": [""]}', True),
    # a tombstone has no value: only exists:false sees it
    ("tombstone exists:false", None, '{"value": [{"exists": false}]}', True),
    ("tombstone anything-but", None, NOT_ERROR, False),
    ("tombstone JSON pattern", None, PREFIX_AB, False),
    # $or branches each check their own format
    ("$or json branch", b'{"a": 1}', '{"$or": [{"value": {"a": [1]}}, {"value": [{"prefix": "Order"}]}]}', True),
    ("$or text branch", b"OrderX", '{"$or": [{"value": {"a": [1]}}, {"value": [{"prefix": "Order"}]}]}', True),
    ("$or no branch", b"Other", '{"$or": [{"value": {"a": [1]}}, {"value": [{"prefix": "Order"}]}]}', False),
]


@pytest.mark.parametrize(("value", "pattern", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_value_against_pattern(value: bytes | None, pattern: str, expected: bool) -> None:
    assert KafkaRecordFilter([pattern]).matches(value) is expected


def test_any_filter_passes_and_no_filters_pass_everything() -> None:
    f = KafkaRecordFilter([PREFIX_AB, ORDER])
    assert f.matches(DEVICE.encode()) and f.matches(b"OrderCreated")
    assert not f.matches(b"PaymentTaken")
    none = KafkaRecordFilter([])
    assert not none
    assert all(none.matches(v) for v in (None, b"", NOT_UTF8, DEVICE.encode()))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("absent", None)),
        (NOT_UTF8, ("binary", None)),
        (b"OrderCreated", ("text", "OrderCreated")),
        (b"{not json", ("text", "{not json")),
        (b"NaN", ("text", "NaN")),  # not JSON (Python's json would accept it)
        (b'{"a": [1, "x"]}', ("json", {"a": [1, "x"]})),
        (b'"x"', ("json", "x")),
    ],
)
def test_how_lambda_sees_a_value(value: bytes | None, expected: tuple[str, object]) -> None:
    assert kafka_filter_subject(value) == expected
