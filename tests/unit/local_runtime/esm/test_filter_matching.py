"""Matching rules AWS states for its pattern language beyond the Lambda pages' examples.

Sources: EventBridge's event-pattern pages (Lambda "uses the same syntax as EventBridge") and the README of
AWS's matcher, github.com/aws/event-ruler: arrays are matched element by element and "any two fields within
JSON objects that are in different elements of the same array" never combine; "Exists matching only works
on the leaf nodes" (so exists:false holds on an object); prefix/suffix/equals-ignore-case/wildcard "only
work on string-valued fields"; numeric "only works with values that are JSON numbers"; wildcard escapes
``\\*`` and ``\\\\`` only; anything-but "matches anything except what's provided".
"""

from __future__ import annotations

import pytest

from local_runtime.esm.filtering import load_event_json, parse_filter_pattern, pattern_matches

EMPLOYEES = '{"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}, '\
    '{"firstName": "Peter", "lastName": "Jones"}]}'
NESTED = '{"employees": [[{"firstName": "John"}, {"firstName": "Anna"}], [{"firstName": "Peter"}]]}'

CASES = [
    # arrays: any element; objects inside arrays are matched one element at a time
    ("array element", '{"employees": {"firstName": ["Anna"]}}', EMPLOYEES, True),
    ("nested arrays", '{"employees": {"firstName": ["Peter"]}}', NESTED, True),
    ("same element", '{"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}', EMPLOYEES, True),
    ("fields of two elements", '{"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}', EMPLOYEES, False),
    ("array of strings", '{"tags": ["urgent"]}', '{"tags": ["red", "urgent"]}', True),
    ("anything-but on array", '{"tags": [{"anything-but": "red"}]}', '{"tags": ["red", "urgent"]}', True),
    ("anything-but all excluded", '{"tags": [{"anything-but": "red"}]}', '{"tags": ["red"]}', False),
    # exists: only leaves exist; null is a leaf; an empty array or an array of objects has no leaf here
    ("exists:true on object", '{"detail": {"c-count": [{"exists": true}]}}', '{"detail": {"c-count": {"c1": 1}}}',
     False),
    ("exists:false on object", '{"detail": {"c-count": [{"exists": false}]}}', '{"detail": {"c-count": {"c1": 1}}}',
     True),
    ("exists on null", '{"a": [{"exists": true}]}', '{"a": null}', True),
    ("exists:false on empty array", '{"a": [{"exists": false}]}', '{"a": []}', True),
    ("exists:true on array of objects", '{"a": [{"exists": true}]}', '{"a": [{"b": 1}]}', False),
    ("exists below a string", '{"a": {"b": [{"exists": false}]}}', '{"a": "text"}', True),
    ("exists below a missing object", '{"a": {"b": [{"exists": false}]}}', "{}", True),
    ("value below a missing object", '{"a": {"b": ["x"]}}', "{}", False),
    ("exists:false below array of scalars", '{"a": {"b": [{"exists": false}]}}', '{"a": [1, 2]}', True),
    # types: strings, numbers, booleans and null never equal one another
    ("true is not 1", '{"a": [true]}', '{"a": 1}', False),
    ("1 is not true", '{"a": [1]}', '{"a": true}', False),
    ("null is not empty", '{"a": [null]}', '{"a": ""}', False),
    ("false is not null", '{"a": [false]}', '{"a": null}', False),
    ("-0 is not 0", '{"a": [0]}', '{"a": -0}', False),
    # string operators ignore numbers; numeric ignores strings
    ("prefix on a number", '{"a": [{"prefix": "4"}]}', '{"a": 42}', False),
    ("suffix on a number", '{"a": [{"suffix": "2"}]}', '{"a": 42}', False),
    ("equals-ignore-case on a number", '{"a": [{"equals-ignore-case": "42"}]}', '{"a": 42}', False),
    ("wildcard on a number", '{"a": [{"wildcard": "*"}]}', '{"a": 42}', False),
    ("numeric on a string", '{"a": [{"numeric": [">", 0]}]}', '{"a": "5"}', False),
    ("numeric on a boolean", '{"a": [{"numeric": [">", 0]}]}', '{"a": true}', False),
    ("prefix empty", '{"a": [{"prefix": ""}]}', '{"a": "anything"}', True),
    ("exactly", '{"a": [{"exactly": "x"}]}', '{"a": "x"}', True),
    # anything-but matches values of other types, and compares numbers by value
    ("anything-but string vs number", '{"a": [{"anything-but": "x"}]}', '{"a": 5}', True),
    ("anything-but number vs string", '{"a": [{"anything-but": [5]}]}', '{"a": "5"}', True),
    ("anything-but number by value", '{"a": [{"anything-but": [5]}]}', '{"a": 5.0}', False),
    ("anything-but vs null", '{"a": [{"anything-but": "x"}]}', '{"a": null}', True),
    ("anything-but prefix vs number", '{"a": [{"anything-but": {"prefix": "4"}}]}', '{"a": 42}', True),
    ("anything-but prefix list", '{"a": [{"anything-but": {"prefix": ["us-", "eu-"]}}]}', '{"a": "eu-west-1"}',
     False),
    ("anything-but absent", '{"a": [{"anything-but": "x"}]}', "{}", False),
    # wildcard: * is any run (also empty); only \\* and \\\\ are escapes; ? and [ are literal
    ("wildcard empty run", '{"a": [{"wildcard": "ab*"}]}', '{"a": "ab"}', True),
    ("wildcard middle", '{"a": [{"wildcard": "a*c*e"}]}', '{"a": "abcde"}', True),
    ("wildcard escaped star", '{"a": [{"wildcard": "a\\\\*"}]}', '{"a": "a*"}', True),
    ("wildcard escaped star is literal", '{"a": [{"wildcard": "a\\\\*"}]}', '{"a": "abc"}', False),
    ("wildcard backslash", '{"a": [{"wildcard": "a\\\\\\\\b"}]}', '{"a": "a\\\\b"}', True),
    ("wildcard ? is literal", '{"a": [{"wildcard": "a?"}]}', '{"a": "ab"}', False),
    ("wildcard newline", '{"a": [{"wildcard": "a*b"}]}', '{"a": "a\\nb"}', True),
    # equals-ignore-case and its prefix/suffix forms
    ("ignore case non-ASCII", '{"a": [{"equals-ignore-case": "ÉTÉ"}]}', '{"a": "été"}', True),
    ("prefix ignore case miss", '{"a": [{"prefix": {"equals-ignore-case": "abc"}}]}', '{"a": "ab"}', False),
    # cidr: IPv4 and IPv6; not an address: no match
    ("cidr v6", '{"ip": [{"cidr": "2001:db8::/32"}]}', '{"ip": "2001:db8::1"}', True),
    ("cidr v4 vs v6", '{"ip": [{"cidr": "10.0.0.0/8"}]}', '{"ip": "2001:db8::1"}', False),
    ("cidr not an address", '{"ip": [{"cidr": "10.0.0.0/8"}]}', '{"ip": "ten"}', False),
    # numeric ranges: bounds open or closed as written
    ("numeric >= bottom", '{"a": [{"numeric": [">=", 1, "<", 2]}]}', '{"a": 1}', True),
    ("numeric < top", '{"a": [{"numeric": [">=", 1, "<", 2]}]}', '{"a": 2}', False),
    ("numeric negative", '{"a": [{"numeric": ["<", 0]}]}', '{"a": -1e-3}', True),
    # $or at any level, with sibling keys ANDed
    ("$or nested", '{"d": {"$or": [{"a": [1]}, {"b": [2]}]}, "c": [3]}', '{"d": {"b": 2}, "c": 3}', True),
    ("$or nested sibling fails", '{"d": {"$or": [{"a": [1]}, {"b": [2]}]}, "c": [3]}', '{"d": {"b": 2}, "c": 4}',
     False),
    ("$or inside $or", '{"$or": [{"a": [1]}, {"$or": [{"b": [2]}, {"c": [3]}]}]}', '{"c": 3}', True),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(pattern: str, event: str, expected: bool) -> None:
    assert pattern_matches(parse_filter_pattern(pattern), load_event_json(event)) is expected
