"""AWS Lambda event-filter pattern matching (local_runtime.esm.filtering)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local_runtime.esm.filtering import EventFilter, InvalidFilterPattern, matches_pattern

EVENT = {
    "status": "DELIVERED",
    "carrier": "dhl-express",
    "count": 5,
    "ratio": 0.5,
    "flag": True,
    "nothing": None,
    "empty": "",
    "tags": ["red", "urgent"],
    "location": {"country": "DE", "city": "Berlin", "coords": {"lat": 52.5}},
    "items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 3}],
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # exact values (OR within the list)
        ({"status": ["DELIVERED"]}, True),
        ({"status": ["IN_TRANSIT", "DELIVERED"]}, True),
        ({"status": ["delivered"]}, False),
        ({"count": [5]}, True),
        ({"count": [5.0]}, False),  # exact numbers compare as written: 5 is not 5.0 (test_filter_aws_docs.py)
        ({"count": ["5"]}, False),  # strings never equal numbers
        ({"flag": [True]}, True),
        ({"flag": [1]}, False),  # true is not 1
        ({"nothing": [None]}, True),
        ({"missing": [None]}, False),  # null does not match an absent field
        ({"empty": [""]}, True),
        # AND across keys, nested keys
        ({"status": ["DELIVERED"], "carrier": ["dhl-express"]}, True),
        ({"status": ["DELIVERED"], "carrier": ["ups"]}, False),
        ({"location": {"country": ["DE"]}}, True),
        ({"location": {"coords": {"lat": [52.5]}}}, True),
        ({"location": {"country": ["FR"]}}, False),
        # prefix / suffix / equals-ignore-case / wildcard
        ({"carrier": [{"prefix": "dhl"}]}, True),
        ({"carrier": [{"prefix": "ups"}]}, False),
        ({"carrier": [{"suffix": "-express"}]}, True),
        ({"status": [{"equals-ignore-case": "delivered"}]}, True),
        ({"carrier": [{"wildcard": "d*-exp*"}]}, True),
        ({"carrier": [{"wildcard": "d?l*"}]}, False),  # '?' is literal in AWS wildcards
        # anything-but
        ({"status": [{"anything-but": ["IN_TRANSIT", "CREATED"]}]}, True),
        ({"status": [{"anything-but": "DELIVERED"}]}, False),
        ({"status": [{"anything-but": {"prefix": "DEL"}}]}, False),
        ({"status": [{"anything-but": {"prefix": "IN_"}}]}, True),
        ({"missing": [{"anything-but": "x"}]}, False),  # absent fields match only exists:false
        ({"count": [{"anything-but": [5]}]}, False),
        # numeric
        ({"count": [{"numeric": [">", 0, "<=", 5]}]}, True),
        ({"count": [{"numeric": [">", 5]}]}, False),
        ({"count": [{"numeric": ["=", 5]}]}, True),
        ({"ratio": [{"numeric": [">=", 0.5, "<", 1]}]}, True),
        ({"status": [{"numeric": [">", 0]}]}, False),  # not a number
        # exists
        ({"status": [{"exists": True}]}, True),
        ({"missing": [{"exists": True}]}, False),
        ({"missing": [{"exists": False}]}, True),
        ({"status": [{"exists": False}]}, False),
        ({"location": {"zip": [{"exists": False}]}}, True),
        ({"nowhere": {"zip": [{"exists": False}]}}, True),
        # arrays: any element
        ({"tags": ["urgent"]}, True),
        ({"tags": ["blue"]}, False),
        ({"items": {"sku": ["B"]}}, True),
        ({"items": {"qty": [{"numeric": [">", 2]}]}}, True),
        ({"items": {"sku": ["C"]}}, False),
        # $or
        ({"$or": [{"status": ["LOST"]}, {"carrier": [{"prefix": "dhl"}]}]}, True),
        ({"$or": [{"status": ["LOST"]}, {"carrier": ["ups"]}]}, False),
        ({"count": [5], "$or": [{"status": ["LOST"]}, {"flag": [True]}]}, True),
    ],
)
def test_operators(pattern: dict, expected: bool) -> None:
    assert matches_pattern(pattern, EVENT) is expected


def test_event_filter_any_pattern_passes_and_no_filters_pass_everything() -> None:
    f = EventFilter([{"status": ["LOST"]}, {"carrier": [{"prefix": "dhl"}]}])
    assert f.matches(EVENT)
    assert not EventFilter([{"status": ["LOST"]}]).matches(EVENT)
    assert EventFilter().matches(EVENT)
    assert not EventFilter()  # falsy when there is nothing to filter


@pytest.mark.parametrize(
    "pattern",
    [
        {"status": "DELIVERED"},  # leaf must be a list
        {"status": []},
        {"status": [{"bogus": 1}]},
        {"status": [{"prefix": 1}]},
        {"count": [{"numeric": [">"]}]},
        {"count": [{"numeric": ["~", 1]}]},
        {"count": [{"exists": "yes"}]},
        {"status": [{"anything-but": {"contains": "x"}}]},
        {"$or": [{"a": [1]}]},
        {},
        ["not", "an", "object"],
    ],
)
def test_invalid_patterns_are_rejected_up_front(pattern: object) -> None:
    with pytest.raises(InvalidFilterPattern):
        EventFilter([pattern])  # type: ignore[list-item]


def test_dynamodb_style_pattern_on_typed_images() -> None:
    record = {
        "eventName": "MODIFY",
        "dynamodb": {"NewImage": {"status": {"S": "DELIVERED"}, "rank": {"N": "9"}}, "Keys": {"pk": {"S": "a"}}},
    }
    assert matches_pattern(
        {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"status": {"S": ["DELIVERED"]}}}}, record
    )
    assert not matches_pattern({"dynamodb": {"OldImage": [{"exists": True}]}}, record)
    assert matches_pattern({"dynamodb": {"OldImage": [{"exists": False}]}}, record)
    assert not matches_pattern({"eventName": ["REMOVE"]}, record)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.text(max_size=20),
)


@given(value=scalars, other=scalars)
def test_exact_match_and_anything_but_are_complements(value: object, other: object) -> None:
    event = {"f": value}
    assert matches_pattern({"f": [value]}, event)
    if isinstance(other, str) or (isinstance(other, int) and not isinstance(other, bool)):
        # anything-but [other] matches exactly when the exact pattern [other] does not (anything-but takes
        # only strings and numbers)
        assert matches_pattern({"f": [{"anything-but": [other]}]}, event) is not matches_pattern({"f": [other]}, event)
    assert matches_pattern({"f": [{"exists": True}]}, event)
    assert not matches_pattern({"g": [{"exists": True}]}, event)
