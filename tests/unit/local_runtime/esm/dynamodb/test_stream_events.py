"""DynamoDB stream record builders (local_runtime.esm.dynamodb.events), from real moto GetRecords output and
from boto3-shaped input, checked with Powertools' models and field by field against docs/AWS_EVENT_SOURCES.md."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamLambdaOnFailureDestinationModel,
    DynamoDBStreamModel,
)
from moto import mock_aws

from local_runtime.esm.dynamodb.events import (
    attribute_value_to_json,
    build_stream_event,
    build_stream_on_failure_record,
    build_stream_record,
    creation_epoch_seconds,
)

REGION = "eu-central-1"
STREAM_ARN = "arn:aws:dynamodb:eu-central-1:123456789012:table/Shipments/stream/2026-01-01T00:00:00.000"


def raw_record(seq: str, name: str = "MODIFY", **ddb: object) -> dict:
    """A GetRecords entry as boto3 returns it (datetime, bytes), with moto's quirks."""
    body: dict = {
        "ApproximateCreationDateTime": datetime(2026, 3, 1, 12, 0, 5, 750000, tzinfo=UTC),
        "Keys": {"merchant_id": {"S": "m1"}, "shipment_id": {"S": "s1"}},
        "NewImage": {
            "merchant_id": {"S": "m1"},
            "shipment_id": {"S": "s1"},
            "status": {"S": "IN_TRANSIT"},
            "rank": {"N": "4"},
            "sig": {"B": b"\x00\xffab"},
            "meta": {"M": {"blobs": {"BS": [b"\x01", b"\x02"]}, "list": {"L": [{"B": b"z"}, {"NULL": True}]}}},
            "tags": {"SS": ["a", "b"]},
        },
        "OldImage": {"merchant_id": {"S": "m1"}, "shipment_id": {"S": "s1"}, "status": {"S": "PICKED_UP"}},
        "SequenceNumber": seq,
        "SizeBytes": 321,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    body.update(ddb)
    return {
        "eventID": f"id-{seq}",
        "eventName": name,
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": body,
    }


def test_record_fields_are_lambdas_not_getrecords() -> None:
    rec = build_stream_record(raw_record("111"), region=REGION, stream_arn=STREAM_ARN)
    assert list(rec) == [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    ]
    assert rec["eventVersion"] == "1.1"  # moto says 1.0
    assert rec["awsRegion"] == REGION  # moto says us-east-1
    assert rec["eventSourceARN"] == STREAM_ARN  # GetRecords has none
    assert rec["eventSource"] == "aws:dynamodb"
    ddb = rec["dynamodb"]
    assert list(ddb) == [
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "OldImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    ]
    # epoch seconds, a number, rounded down to the second
    assert ddb["ApproximateCreationDateTime"] == int(datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC).timestamp())
    assert isinstance(ddb["ApproximateCreationDateTime"], int)
    assert ddb["SequenceNumber"] == "111" and ddb["SizeBytes"] == 321
    # typed JSON, binary as base64 at any depth
    img = ddb["NewImage"]
    assert img["status"] == {"S": "IN_TRANSIT"} and img["rank"] == {"N": "4"}
    assert base64.b64decode(img["sig"]["B"]) == b"\x00\xffab"
    assert img["meta"]["M"]["blobs"]["BS"] == ["AQ==", "Ag=="]
    assert img["meta"]["M"]["list"]["L"] == [{"B": "eg=="}, {"NULL": True}]
    assert img["tags"] == {"SS": ["a", "b"]}
    json.dumps(rec)


def test_event_validates_with_powertools_model() -> None:
    records = [
        build_stream_record(raw_record("111"), region=REGION, stream_arn=STREAM_ARN),
        build_stream_record(
            {
                **raw_record("112", "REMOVE"),
                "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            },
            region=REGION,
            stream_arn=STREAM_ARN,
        ),
    ]
    event = build_stream_event(records)
    model = DynamoDBStreamModel.model_validate(copy.deepcopy(event))
    first = model.Records[0]
    assert first.eventVersion == 1.1
    assert first.awsRegion == REGION
    assert first.eventSourceARN == STREAM_ARN
    assert first.dynamodb.NewImage["status"] == "IN_TRANSIT"
    assert base64.b64decode(first.dynamodb.NewImage["sig"]) == b"\x00\xffab"  # binary travels as base64
    assert first.dynamodb.ApproximateCreationDateTime == datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
    assert model.Records[1].userIdentity is not None


def test_powertools_batch_processor_identifiers_are_sequence_numbers() -> None:
    event = build_stream_event(
        [build_stream_record(raw_record(s), region=REGION, stream_arn=STREAM_ARN) for s in ("5", "6", "7")]
    )

    def handler(record: object) -> None:
        if record.dynamodb.sequence_number == "6":  # type: ignore[attr-defined]
            raise ValueError("boom")

    resp = process_partial_response(
        event=event, record_handler=handler, processor=BatchProcessor(EventType.DynamoDBStreams)
    )
    assert resp == {"batchItemFailures": [{"itemIdentifier": "6"}]}


@pytest.fixture
def in_process_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's in-process mock only answers AWS's own hostnames: drop the suite's DynamoDB Local endpoints."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", raising=False)


@mock_aws
@pytest.mark.usefixtures("in_process_moto")
def test_built_from_real_moto_getrecords_output() -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    # botocore 1.44 targets account-based "<account>.streams-ddb.<region>" hosts, which moto 5.2's
    # in-process mock does not route; the classic endpoint works (moto server mode is unaffected).
    streams = boto3.client(
        "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
    )
    table = ddb.create_table(
        TableName="Shipments",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    arn = table["LatestStreamArn"]
    ddb.put_item(TableName="Shipments", Item={"pk": {"S": "a"}, "v": {"N": "1"}, "b": {"B": b"\x80"}})
    ddb.put_item(TableName="Shipments", Item={"pk": {"S": "a"}, "v": {"N": "2"}})
    ddb.delete_item(TableName="Shipments", Key={"pk": {"S": "a"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    raw = streams.get_records(ShardIterator=it)["Records"]
    assert raw[0]["awsRegion"] == "us-east-1" and raw[0]["eventVersion"] == "1.0"  # the quirks we correct

    records = [build_stream_record(r, region=REGION, stream_arn=arn) for r in raw]
    model = DynamoDBStreamModel.model_validate(build_stream_event(copy.deepcopy(records)))
    assert [r.eventName for r in model.Records] == ["INSERT", "MODIFY", "REMOVE"]
    assert all(r.awsRegion == REGION and r.eventVersion == 1.1 for r in model.Records)
    assert base64.b64decode(model.Records[0].dynamodb.NewImage["b"]) == b"\x80"
    assert model.Records[1].dynamodb.OldImage["v"] == 1
    assert model.Records[2].dynamodb.NewImage is None and "NewImage" not in records[2]["dynamodb"]
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int) for r in records)


def test_on_failure_record_validates_and_matches_aws_example() -> None:
    records = [build_stream_record(raw_record(s), region=REGION, stream_arn=STREAM_ARN) for s in ("41", "42")]
    now = datetime(2026, 3, 1, 12, 1, 0, 123000, tzinfo=UTC)
    doc = build_stream_on_failure_record(
        records,
        shard_id="shardId-0001",
        stream_arn=STREAM_ARN,
        function_arn="arn:aws:lambda:eu-central-1:123456789012:function:notify",
        approximate_invoke_count=4,
        request_id="req-9",
        now=now,
    )
    model = DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(doc)
    assert model.request_context.condition == "RetryAttemptsExhausted"
    assert model.request_context.approximate_invoke_count == 4
    assert model.response_context.function_error == "Unhandled"
    assert doc["version"] == "1.0" and doc["timestamp"] == "2026-03-01T12:01:00.123Z"
    info = doc["DDBStreamBatchInfo"]
    assert info == {
        "shardId": "shardId-0001",
        "startSequenceNumber": "41",
        "endSequenceNumber": "42",
        "approximateArrivalOfFirstRecord": "2026-03-01T12:00:05.000Z",
        "approximateArrivalOfLastRecord": "2026-03-01T12:00:05.000Z",
        "batchSize": 2,
        "streamArn": STREAM_ARN,
    }
    assert "payload" not in doc
    with_payload = build_stream_on_failure_record(
        records,
        shard_id="s",
        stream_arn=STREAM_ARN,
        function_arn="f",
        approximate_invoke_count=1,
        include_payload=True,
        function_error=None,
    )
    assert with_payload["payload"] == {"Records": records}
    assert "functionError" not in with_payload["responseContext"]
    with pytest.raises(ValueError):
        build_stream_on_failure_record(
            [], shard_id="s", stream_arn=STREAM_ARN, function_arn="f", approximate_invoke_count=1
        )


def test_helpers() -> None:
    assert creation_epoch_seconds(1700000000.9) == 1700000000
    assert creation_epoch_seconds(datetime(2026, 1, 1)) == int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert attribute_value_to_json({"B": "AAE="}) == {"B": "AAE="}  # already base64 stays as is
    with pytest.raises(ValueError):
        attribute_value_to_json({"S": "a", "N": "1"})


def test_dynamodb_local_bare_empty_map_is_an_empty_map() -> None:
    # DynamoDB Local's GetRecords gives an empty map attribute as {} (measured); Lambda's event says {"M": {}}.
    image = {"k": {"S": "a"}, "m": {}, "l": {"L": []}, "n": {"M": {"inner": {}}}}
    assert {k: attribute_value_to_json(v) for k, v in image.items()} == {
        "k": {"S": "a"}, "m": {"M": {}}, "l": {"L": []}, "n": {"M": {"inner": {"M": {}}}}}
