"""What Lambda refuses when a mapping is created: pattern syntax, the 4096-character and 5-filter limits, keys
a source cannot filter on; and how a pattern's text is read (repeated keys, numbers as written).

Sources: the Lambda API's ``Filter.Pattern`` (length 0..4096, https://docs.aws.amazon.com/lambda/latest/api/
API_Filter.html); "By default, you can define up to five different filters ... request a quota increase for
up to 10 ... Lambda will return an error" (invocation-eventfiltering.html); "Lambda throws an exception at
the time of the event source mapping creation or update. The filter pattern ... must be in a valid JSON
format" (with-ddb-filtering.html); the checks of AWS's matcher (github.com/aws/event-ruler,
JsonRuleCompiler) for the operators' shapes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_runtime.cloudformation import TemplateError, load_template
from local_runtime.esm.filtering import (
    MAX_PATTERN_CHARS,
    EventFilter,
    InvalidFilterPattern,
    check_filter_criteria,
    load_event_json,
    parse_filter_pattern,
    pattern_matches,
)
from local_runtime.esm.kafka.filtering import KafkaRecordFilter
from tests.unit.local_runtime.cloudformation.support import write_template


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"a": [1]', "not valid JSON"),
        ('{"a": [NaN]}', "not valid JSON"),
        ("", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ("{}", "empty objects"),
        ('{"a": {}}', "empty objects"),
        ('{"a": []}', "empty arrays"),
        ('{"a": "x"}', "must be an object or an array"),
        ('{"a": 1}', "must be an object or an array"),
        ('{"a": [[1]]}', "a match value must be"),
        ('{"a": [{}]}', "exactly one key"),
        ('{"a": [{"prefix": "x", "suffix": "y"}]}', "exactly one key"),
        ('{"a": [{"contains": "x"}]}', "unknown operator"),
        ('{"a": [{"prefix": 1}]}', "needs a string"),
        ('{"a": [{"prefix": {"wildcard": "x"}}]}', "equals-ignore-case"),
        ('{"a": [{"equals-ignore-case": ["x"]}]}', "needs a string"),
        ('{"a": [{"wildcard": "a**b"}]}', "consecutive wildcard"),
        ('{"a": [{"wildcard": "a\\\\b"}]}', "invalid escape"),
        ('{"a": [{"cidr": "10.0.0.0/33"}]}', "not an IP network"),
        ('{"a": [{"exists": "true"}]}', "true or false"),
        ('{"a": [{"numeric": []}]}', "numeric"),
        ('{"a": [{"numeric": [">"]}]}', "numeric"),
        ('{"a": [{"numeric": ["~", 1]}]}', "numeric"),
        ('{"a": [{"numeric": ["<", 5, ">", 1]}]}', "numeric"),  # the lower bound comes first
        ('{"a": [{"numeric": ["=", 1, "<", 5]}]}', "numeric"),
        ('{"a": [{"numeric": [">", "1"]}]}', "must be numbers"),
        ('{"a": [{"numeric": [">", true]}]}', "must be numbers"),
        ('{"a": [{"anything-but": []}]}', "anything-but"),
        ('{"a": [{"anything-but": ["x", 1]}]}', "only strings or only numbers"),
        ('{"a": [{"anything-but": [null]}]}', "only strings or only numbers"),
        ('{"a": [{"anything-but": true}]}', "only strings or only numbers"),
        ('{"a": [{"anything-but": {"exists": true}}]}', "object form"),
        ('{"a": [{"anything-but": {"prefix": ""}}]}', "empty prefix"),
        ('{"a": [{"anything-but": {"suffix": [1]}}]}', "needs strings"),
        ('{"a": [{"anything-but": {"wildcard": "**"}}]}', "consecutive wildcard"),
        ('{"$or": [{"a": [1]}]}', "at least two"),
        ('{"$or": {"a": [1]}}', "at least two"),
        ('{"$or": [{"a": [1]}, "b"]}', "must be a JSON object"),
        ('{"$or": [{"prefix": ["x"]}, {"b": [1]}]}', "reserved"),
    ],
)
def test_invalid_patterns_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidFilterPattern, match=message):
        parse_filter_pattern(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [{"numeric": ["=", 3.018e2]}]}',
        '{"a": [{"numeric": [">=", -5, "<", 1e9]}]}',
        '{"a": [{"numeric": ["<=", 0]}]}',
        '{"a": [{"anything-but": 5}]}',
        '{"a": [{"anything-but": [1, 2.5]}]}',
        '{"a": [{"anything-but": {"equals-ignore-case": ["x", "Y"]}}]}',
        '{"a": [{"anything-but": {"wildcard": ["*/lib/*", "a\\\\*"]}}]}',
        '{"a": [{"prefix": ""}]}',
        '{"a": [{"exactly": "x"}]}',
        '{"a": [{"cidr": "2001:db8::/32"}]}',
        '{"a": [null, true, false, "", 0, {"exists": false}]}',
        '{"$or": [{"a": [1]}, {"$or": [{"b": [2]}, {"c": [3]}]}]}',
        '{"prefix": ["a field may be named like an operator outside $or"]}',
    ],
)
def test_valid_patterns_are_accepted(text: str) -> None:
    assert parse_filter_pattern(text)


def test_pattern_length_limit_is_4096_characters() -> None:
    def pattern_of(length: int) -> str:
        head = '{"a": ["'
        return head + "x" * (length - len(head) - 3) + '"]}'

    assert len(pattern_of(MAX_PATTERN_CHARS)) == MAX_PATTERN_CHARS
    assert parse_filter_pattern(pattern_of(MAX_PATTERN_CHARS))
    with pytest.raises(InvalidFilterPattern, match="at most 4096"):
        parse_filter_pattern(pattern_of(MAX_PATTERN_CHARS + 1))
    with pytest.raises(InvalidFilterPattern, match="longer than 4096"):
        EventFilter([{"a": ["x" * MAX_PATTERN_CHARS]}])  # given as an object: its compact text is too long


def test_five_filters_by_default_ten_with_a_quota_increase() -> None:
    patterns = [{"n": [i]} for i in range(10)]
    assert len(EventFilter(patterns[:5]).patterns) == 5
    with pytest.raises(InvalidFilterPattern, match=r"6 filters.*5 by default.*up to 10"):
        EventFilter(patterns[:6])
    assert len(EventFilter(patterns, max_filters=10).patterns) == 10
    with pytest.raises(ValueError, match="max_filters"):
        EventFilter(patterns, max_filters=11)


def test_the_failing_filter_is_named() -> None:
    with pytest.raises(InvalidFilterPattern, match=r"Filters\[1\]: .*unknown operator"):
        EventFilter(['{"a": [1]}', '{"a": [{"regex": "x"}]}'])


def test_repeated_keys_are_merged_as_aws_reads_them() -> None:
    # Objects under a repeated key are merged (the DynamoDB Boolean example), a repeated leaf: the later counts,
    # two "$or" at one level must both hold.
    assert parse_filter_pattern('{"d": {"a": ["1"]}, "d": {"b": ["2"]}}') == {"d": {"a": ["1"], "b": ["2"]}}
    assert parse_filter_pattern('{"a": ["1"], "a": ["2"]}') == {"a": ["2"]}
    both = parse_filter_pattern('{"$or": [{"a": [1]}, {"b": [1]}], "$or": [{"c": [1]}, {"d": [1]}]}')
    assert pattern_matches(both, {"a": 1, "d": 1})
    assert not pattern_matches(both, {"a": 1, "b": 1})


def test_numbers_keep_the_text_they_were_written_with() -> None:
    pattern = parse_filter_pattern('{"n": [3.0e2]}')
    assert pattern_matches(pattern, load_event_json('{"n": 3.0e2}'))
    assert not pattern_matches(pattern, load_event_json('{"n": 300.0}'))
    assert pattern == {"n": [300.0]}  # still an ordinary number for everything else
    assert json.loads(json.dumps(pattern)) == {"n": [300.0]}


def test_kafka_patterns_may_only_name_value() -> None:
    for ok in ('{"value": ["x"]}', '{"$or": [{"value": ["x"]}, {"value": {"a": [1]}}]}'):
        assert KafkaRecordFilter([ok])
    for key in ("key", "headers", "topic", "partition", "offset", "timestamp", "Value"):
        with pytest.raises(InvalidFilterPattern, match=f"'{key}': this event source only supports filtering on value"):
            KafkaRecordFilter([f'{{"{key}": [{{"exists": true}}]}}'])
    with pytest.raises(InvalidFilterPattern, match="'topic'"):
        KafkaRecordFilter(['{"$or": [{"value": ["x"]}, {"topic": ["t"]}]}'])
    check_filter_criteria("DynamoDB", ['{"eventName": ["INSERT"], "dynamodb": {"Keys": [{"exists": true}]}}'])
    with pytest.raises(InvalidFilterPattern):
        check_filter_criteria("SelfManagedKafka", ['{"eventName": ["INSERT"]}'])


def msk_template(tmp_path: Path, filters: list[str]) -> Path:
    """A template with one SAM MSK event filtered by ``filters`` (Pattern strings)."""
    lines = "\n".join(f"{' ' * 24}- Pattern: '{f}'" for f in filters)
    return write_template(tmp_path, f"""\
        AWSTemplateFormatVersion: "2010-09-09"
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Runtime: python3.12
              Handler: app.handler
              CodeUri: src/
              Events:
                Orders:
                  Type: MSK
                  Properties:
                    Stream: arn:aws:kafka:us-east-1:123456789012:cluster/orders/abcd-1234
                    Topics: [orders]
                    StartingPosition: LATEST
                    FilterCriteria:
                      Filters:
{lines}
        """)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (['{"key": ["k"]}'], "only supports filtering on value"),
        (['{"value": ["x"]}'] * 6, "6 filters"),
        (['{"value": ["' + "x" * 4100 + '"]}'], "at most 4096"),
        (['{"value": [{"numeric": [">"]}]}'], "numeric"),
    ],
)
def test_the_template_loader_refuses_what_lambda_refuses(tmp_path: Path, filters: list[str], message: str) -> None:
    with pytest.raises(TemplateError, match=message) as err:
        load_template(msk_template(tmp_path, filters)).event_source_mappings()
    assert "FilterCriteria" in str(err.value)


def test_the_template_loader_reads_patterns_as_lambda_does(tmp_path: Path) -> None:
    t = load_template(msk_template(tmp_path, ['{"value": {"a": ["1"]}, "value": {"b": [2]}}']))
    (spec,) = t.event_source_mappings()
    assert spec.filter_patterns == ({"value": {"a": ["1"], "b": [2]}},)
