"""Every filtering example AWS documents, as (pattern, event, expected) cases run through our matcher.

Sources (each case names its page):

* [LAMBDA] "Control which events Lambda sends to your function",
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html (the "Filter rule syntax"
  table, the number note, the Exists note, the multi-level DynamoDB example); [LAMBDA-2022] is the page's
  earlier version (awsdocs/aws-lambda-developer-guide, doc_source/invocation-eventfiltering.md), whose
  Kinesis and DynamoDB examples still hold.
* [DDB] "Using event filtering with a DynamoDB event source",
  https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
* [KAFKA] "Filtering events from Amazon MSK and self-managed Apache Kafka event sources",
  https://docs.aws.amazon.com/lambda/latest/dg/kafka-filtering.html (formerly with-msk-filtering.html and
  with-kafka-filtering.html); Kafka cases are in test_filter_kafka.py.
* [EB] EventBridge's "Comparison operators for use in event patterns",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html, which Lambda
  says it shares ("Lambda supports the Amazon EventBridge rules and uses the same syntax"). Its
  anything-but ignore-case example has a stray ':' and '}' (``"state": : [...]}``); it is written here
  without them.

Patterns are given as the ``Pattern`` strings AWS shows (parsed as Lambda parses them); events as JSON
text when the way a number is written matters.
"""

from __future__ import annotations

import pytest

from local_runtime.esm.filtering import EventFilter, load_event_json, parse_filter_pattern, pattern_matches

DDB_RECORD = {  # [DDB] "DynamoDB event"
    "eventID": "1",
    "eventVersion": "1.0",
    "dynamodb": {
        "ApproximateCreationDateTime": "1678831218.0",
        "Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
        "NewImage": {
            "AccountManager": {"S": "Pat Candella"},
            "PaymentTerms": {"S": "60 days"},
            "CustomerName": {"S": "AnyCompany Industries"},
        },
        "SequenceNumber": "111",
        "SizeBytes": 26,
        "StreamViewType": "NEW_IMAGE",
    },
}


def ddb(new: dict | None = None, old: dict | None = None, keys: dict | None = None) -> dict:
    images = {"Keys": keys or {"pk": {"S": "k"}}}
    if new is not None:
        images["NewImage"] = new
    if old is not None:
        images["OldImage"] = old
    return {"eventName": "MODIFY", "eventSource": "aws:dynamodb", "dynamodb": images}


BOOLEAN = (  # [DDB] "Filtering with Boolean expressions": the key "dynamodb" written twice, ANDed
    '{ "dynamodb" : { "NewImage" : { "AccountManager" : { "S" : [ "Pat Candella" ] } } } , '
    '"dynamodb" : { "OldImage" : { "AccountManager" : { "S" : [ "Terry Whitlock" ] } } } }'
)
PERSON = {"person": {"name": "John Doe", "age": 30,
                     "address": {"street": "123 Main St", "city": "Anytown", "country": "USA"}}}
ORGS = {"dynamodb": {"NewImage": {"UserID": {"S": "12345"}, "Name": {"S": "John Doe"},
                                  "Organizations": {"L": [{"S": "Sales"}, {"S": "Marketing"}, {"S": "Support"}]}}}}
KINESIS = {"kinesis": {"partitionKey": "1", "data": {"City": "Seattle", "State": "WA", "Temperature": "46",
                                                     "Month": "December"}}}

CASES = [
    # [LAMBDA] Filter rule syntax table
    ("null", '{"UserID": [ null ]}', '{"UserID": null}', True),
    ("null/value", '{"UserID": [ null ]}', '{"UserID": "u-1"}', False),
    ("null/absent", '{"UserID": [ null ]}', "{}", False),
    ("empty", '{"LastName": [""]}', '{"LastName": ""}', True),
    ("empty/value", '{"LastName": [""]}', '{"LastName": "Doe"}', False),
    ("equals", '{"Name": [ "Alice" ]}', '{"Name": "Alice"}', True),
    ("equals/case", '{"Name": [ "Alice" ]}', '{"Name": "alice"}', False),
    ("equals-ignore-case", '{"Name": [ { "equals-ignore-case": "alice" } ]}', '{"Name": "ALICE"}', True),
    ("and", '{"Location": [ "New York" ], "Day": ["Monday"]}', '{"Location": "New York", "Day": "Monday"}', True),
    ("and/one", '{"Location": [ "New York" ], "Day": ["Monday"]}', '{"Location": "New York", "Day": "Sunday"}', False),
    ("or", '{"PaymentType": [ "Credit", "Debit"]}', '{"PaymentType": "Debit"}', True),
    ("or/neither", '{"PaymentType": [ "Credit", "Debit"]}', '{"PaymentType": "Cash"}', False),
    ("$or", '{"$or": [ { "Location": [ "New York" ] }, { "Day": [ "Monday" ] } ]}',
     '{"Location": "Boston", "Day": "Monday"}', True),
    ("$or/neither", '{"$or": [ { "Location": [ "New York" ] }, { "Day": [ "Monday" ] } ]}',
     '{"Location": "Boston", "Day": "Sunday"}', False),
    ("not", '{"Weather": [ { "anything-but": [ "Raining" ] } ]}', '{"Weather": "Sunny"}', True),
    ("not/excluded", '{"Weather": [ { "anything-but": [ "Raining" ] } ]}', '{"Weather": "Raining"}', False),
    ("numeric =", '{"Price": [ { "numeric": [ "=", 100 ] } ]}', '{"Price": 100}', True),
    ("numeric = by value", '{"Price": [ { "numeric": [ "=", 100 ] } ]}', '{"Price": 1.0e2}', True),
    ("numeric = string", '{"Price": [ { "numeric": [ "=", 100 ] } ]}', '{"Price": "100"}', False),
    ("range top", '{"Price": [ { "numeric": [ ">", 10, "<=", 20 ] } ]}', '{"Price": 20}', True),
    ("range bottom", '{"Price": [ { "numeric": [ ">", 10, "<=", 20 ] } ]}', '{"Price": 10}', False),
    ("range inside", '{"Price": [ { "numeric": [ ">", 10, "<=", 20 ] } ]}', '{"Price": 10.5}', True),
    ("range above", '{"Price": [ { "numeric": [ ">", 10, "<=", 20 ] } ]}', '{"Price": 20.01}', False),
    ("exists", '{"ProductName": [ { "exists": true } ]}', '{"ProductName": "Widget"}', True),
    ("exists/absent", '{"ProductName": [ { "exists": true } ]}', '{"Product": "Widget"}', False),
    ("does not exist", '{"ProductName": [ { "exists": false } ]}', '{"Product": "Widget"}', True),
    ("does not exist/present", '{"ProductName": [ { "exists": false } ]}', '{"ProductName": "W"}', False),
    ("begins with", '{"Region": [ {"prefix": "us-" } ]}', '{"Region": "us-east-1"}', True),
    ("begins with/other", '{"Region": [ {"prefix": "us-" } ]}', '{"Region": "eu-west-1"}', False),
    ("ends with", '{"FileName": [ { "suffix": ".png" } ]}', '{"FileName": "photo.png"}', True),
    ("ends with/other", '{"FileName": [ { "suffix": ".png" } ]}', '{"FileName": "photo.jpg"}', False),
    # [LAMBDA] "for numbers, Lambda also uses string representation. 300, 300.0, and 3.0e2 are not equal"
    ("300 = 300", '{"n": [300]}', '{"n": 300}', True),
    ("300 != 300.0", '{"n": [300]}', '{"n": 300.0}', False),
    ("300 != 3.0e2", '{"n": [300]}', '{"n": 3.0e2}', False),
    ("300.0 != 3.0e2", '{"n": [300.0]}', '{"n": 3.0e2}', False),
    ("number is not string", '{"n": [300]}', '{"n": "300"}', False),
]

DICT_CASES = [
    # [LAMBDA] Exists only works on leaf nodes: "address" is an intermediate node
    ("exists/intermediate", '{ "person": { "address": [ { "exists": true } ] } }', PERSON, False),
    ("exists/leaf", '{ "person": { "address": { "city": [ { "exists": true } ] } } }', PERSON, True),
    # [LAMBDA] multi-level DynamoDB example: sort key Number is 4567 (the record's is 1234)
    ("multi-level", '{ "dynamodb": { "Keys": { "Number": { "N": [ "4567" ] } } } }',
     {"dynamodb": {"Keys": {"ID": {"S": "ABCD"}, "Number": {"N": "1234"}}}}, False),
    ("multi-level/hit", '{ "dynamodb": { "Keys": { "Number": { "N": [ "4567" ] } } } }',
     {"dynamodb": {"Keys": {"ID": {"S": "ABCD"}, "Number": {"N": "4567"}}}}, True),
    # [LAMBDA-2022] Keys.Id.N is 101; Kinesis partitionKey and data.Location; Temperature 50 < t <= 60
    ("ddb Id 101", '{ "dynamodb": { "Keys": { "Id": { "N": [ "101" ] } } } }',
     {"dynamodb": {"Keys": {"Id": {"N": "101"}}, "NewImage": {"Message": {"S": "New item!"}, "Id": {"N": "101"}},
                   "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_AND_OLD_IMAGES"}}, True),
    ("kinesis metadata+data", '{ "partitionKey": [ "1" ], "data": { "Location": [ "Los Angeles" ] }}',
     {"partitionKey": "1", "data": {"Location": "Los Angeles"}}, True),
    ("kinesis data other", '{ "partitionKey": [ "1" ], "data": { "Location": [ "Los Angeles" ] }}',
     {"partitionKey": "1", "data": KINESIS["kinesis"]["data"]}, False),
    ("temperature", '{ "data": { "Temperature": [ {"numeric": [ ">", 50, "<=", 60 ] } ] } }',
     {"data": {"Temperature": 55}}, True),
    ("temperature/string", '{ "data": { "Temperature": [ {"numeric": [ ">", 50, "<=", 60 ] } ] } }',
     {"data": {"Temperature": "55"}}, False),
    ("console a 1 or 2", '{ "a" : [ 1, 2 ] }', {"a": 2}, True),
    # [DDB] table keys, attributes, Boolean AND of two "dynamodb" keys
    ("ddb key", '{ "dynamodb" : { "Keys" : { "CustomerName" : { "S" : [ "AnyCompany Industries" ] } } } }',
     DDB_RECORD, True),
    ("ddb attribute", '{ "dynamodb" : { "NewImage" : { "AccountManager" : { "S" : [ "Pat Candella", '
     '"Shirley Rodriguez" ] } } } }', DDB_RECORD, True),
    ("ddb attribute/other", '{ "dynamodb" : { "NewImage" : { "AccountManager" : { "S" : [ "Pat Candella", '
     '"Shirley Rodriguez" ] } } } }', ddb(new={"AccountManager": {"S": "Terry Whitlock"}}), False),
    ("ddb boolean", BOOLEAN,
     ddb(new={"AccountManager": {"S": "Pat Candella"}}, old={"AccountManager": {"S": "Terry Whitlock"}}), True),
    ("ddb boolean/old differs", BOOLEAN,
     ddb(new={"AccountManager": {"S": "Pat Candella"}}, old={"AccountManager": {"S": "Pat Candella"}}), False),
    ("ddb boolean/new differs", BOOLEAN,
     ddb(new={"AccountManager": {"S": "Shirley Rodriguez"}}, old={"AccountManager": {"S": "Terry Whitlock"}}),
     False),
    # [DDB] "doesn't support numeric operators ... numbers are converted to strings in the JSON record"
    ("ddb numeric on N", '{ "dynamodb" : { "NewImage" : { "Id" : { "N" : [ { "numeric": [ "=", 101 ] } ] } } } }',
     ddb(new={"Id": {"N": "101"}}), False),
    ("ddb N as string", '{ "dynamodb" : { "NewImage" : { "Id" : { "N" : [ "101" ] } } } }',
     ddb(new={"Id": {"N": "101"}}), True),
    # [DDB] Using the Exists operator: "Organizations" is not a leaf; its L.S values are
    ("ddb exists intermediate", '{ "dynamodb" : { "NewImage" : { "Organizations" : [ { "exists": true } ] } } }',
     ORGS, False),
    ("ddb exists leaf", '{ "dynamodb" : { "NewImage" : {"Organizations": {"L": {"S": [ {"exists": true } ] } } } } }',
     ORGS, True),
    # [EB] the operators Lambda shares with EventBridge
    ("anything-but prefix", '{"Region": [ { "anything-but": {"prefix": "us-" } } ]}', {"Region": "eu-west-1"}, True),
    ("anything-but prefix/us", '{"Region": [ { "anything-but": {"prefix": "us-" } } ]}', {"Region": "us-east-1"},
     False),
    ("anything-but suffix", '{"FileName": [ { "anything-but": { "suffix": ".png" } } ]}', {"FileName": "a.png"}, False),
    ("anything-but suffix/jpg", '{"FileName": [ { "anything-but": { "suffix": ".png" } } ]}', {"FileName": "a.jpg"},
     True),
    ("anything-but ignore case", '{"state": [{ "anything-but": { "equals-ignore-case": "initializing" }}]}',
     {"state": "INITIALIZING"}, False),
    ("anything-but ignore case/other", '{"state": [{ "anything-but": { "equals-ignore-case": "initializing" }}]}',
     {"state": "running"}, True),
    ("anything-but wildcard", '{"FilePath" : [{ "anything-but": { "wildcard": "*/lib/*" }}]}',
     {"FilePath": "/usr/lib/libc.so"}, False),
    ("anything-but wildcard/other", '{"FilePath" : [{ "anything-but": { "wildcard": "*/lib/*" }}]}',
     {"FilePath": "/usr/bin/env"}, True),
    ("anything-but single", '{"state": [ { "anything-but": "initializing" } ]}', {"state": "running"}, True),
    ("begins with ignore case", '{"service" : [{ "prefix": { "equals-ignore-case": "eventb" }}]}',
     {"service": "EventBridge"}, True),
    ("ends with ignore case", '{"service" : [{ "suffix": { "equals-ignore-case": "tbridge" }}]}',
     {"service": "EventBRIDGE"}, True),
    ("wildcard", '{"EventBusArn": [ { "wildcard": "arn:aws:events:us-east-1:*:event-bus/*" } ]}',
     {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"}, True),
    ("wildcard/region", '{"EventBusArn": [ { "wildcard": "arn:aws:events:us-east-1:*:event-bus/*" } ]}',
     {"EventBusArn": "arn:aws:events:eu-west-1:123456789012:event-bus/default"}, False),
    ("cidr", '{"source-ip": [ { "cidr": "10.0.0.0/24" } ]}', {"source-ip": "10.0.0.255"}, True),
    ("cidr/out", '{"source-ip": [ { "cidr": "10.0.0.0/24" } ]}', {"source-ip": "10.0.1.1"}, False),
    ("numeric 3 fields",
     '{"detail": {"c-count": [ { "numeric": [ ">", 0, "<=", 5 ] } ], "d-count": [ { "numeric": [ "<", 10 ] } ], '
     '"x-limit": [ { "numeric": [ "=", 3.018e2 ] } ]}}',
     {"detail": {"c-count": 5, "d-count": 3, "x-limit": 301.8}}, True),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_documented_example_on_json_text(pattern: str, event: str, expected: bool) -> None:
    assert pattern_matches(parse_filter_pattern(pattern), load_event_json(event)) is expected


@pytest.mark.parametrize(("pattern", "event", "expected"), [c[1:] for c in DICT_CASES],
                         ids=[c[0] for c in DICT_CASES])
def test_documented_example_on_record(pattern: str, event: dict, expected: bool) -> None:
    assert pattern_matches(parse_filter_pattern(pattern), event) is expected


def test_filters_are_ored_and_a_record_matching_none_is_discarded() -> None:
    """[LAMBDA] "Your filters are logically ORed together ... If none of your filters are satisfied, Lambda
    discards the record." The console example: ``{ "Metadata" : [ 1, 2 ] }``."""
    f = EventFilter(['{ "Metadata" : [ 1, 2 ] }', '{ "Metadata" : [ 7 ] }'])
    assert f.matches({"Metadata": 2}) and f.matches({"Metadata": 7})
    assert not f.matches({"Metadata": 3})
    assert EventFilter().matches({"anything": 1})  # no FilterCriteria: every record goes to the function
