"""The recording proxy in front of the session's DynamoDB (DynamoDB Local, as bench.cost runs it; moto when
it cannot run): it forwards every request unchanged and meters exactly what bench.cost.capacity predicts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bench.cost.capacity import TableSchema, get_units, query_units, write_cost
from bench.cost.recorder import DynamoDBRecorder

REGION = "us-east-1"


def _client(service: str, endpoint: str) -> Any:
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 aws_session_token="testing", region_name=REGION).client(
        service, endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def upstream(dynamodb_endpoint: str | None, moto_endpoint: str) -> str:
    """The DynamoDB the proxy fronts: the session's DynamoDB Local, else moto."""
    return dynamodb_endpoint or moto_endpoint


@pytest.fixture
def recorder(upstream: str) -> Iterator[DynamoDBRecorder]:
    with DynamoDBRecorder(upstream) as proxy:
        yield proxy


@pytest.fixture
def table(upstream: str, unique_name: str) -> tuple[str, TableSchema]:
    """A table with a KEYS_ONLY and an ALL global secondary index (created directly, not through the proxy)."""
    client = _client("dynamodb", upstream)
    client.create_table(
        TableName=unique_name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "status", "owner")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "by_owner", "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "by_status", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                                     {"AttributeName": "sk", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
        ])
    return unique_name, TableSchema.from_description(client.describe_table(TableName=unique_name)["Table"])


def _item(status: str, pad: int) -> dict[str, Any]:
    return {"pk": {"S": "merchant-1"}, "sk": {"S": "shipment-1"}, "status": {"S": status},
            "owner": {"S": "ops"}, "version": {"N": "1"}, "body": {"S": "x" * pad}}


def test_put_item_costs_what_capacity_predicts(recorder: DynamoDBRecorder, table: tuple[str, TableSchema]) -> None:
    name, schema = table
    client = _client("dynamodb", recorder.url)
    recorder.recording = True
    item = _item("created", 1500)  # ~1.5 KB: 2 units on the table and the ALL index, 1 on KEYS_ONLY
    client.put_item(TableName=name, Item=item)

    expected = write_cost(schema, None, item)
    assert (expected.table_units, expected.index_units) == (2, {"by_owner": 1, "by_status": 2})
    snapshot = recorder.meter.snapshot()["tables"][name]
    assert snapshot["write_units"] == expected.table_units
    assert snapshot["operations"] == {"PutItem": 1}
    assert {i: row["write_units"] for i, row in snapshot["indexes"].items()} == expected.index_units
    assert {i: row["items_written"] for i, row in snapshot["indexes"].items()} == {"by_owner": 1, "by_status": 1}
    assert recorder.errors == []
    # Forwarded unchanged: the item is there, byte for byte.
    direct = _client("dynamodb", recorder.upstream or "")
    stored = direct.get_item(TableName=name, Key={k: item[k] for k in ("pk", "sk")}, ConsistentRead=True)["Item"]
    assert stored == item


def test_update_changing_an_index_key_is_a_delete_and_a_put(recorder: DynamoDBRecorder,
                                                            table: tuple[str, TableSchema]) -> None:
    name, schema = table
    client = _client("dynamodb", recorder.url)
    before = _item("created", 1500)
    client.put_item(TableName=name, Item=before)  # not recording yet: not counted
    recorder.recording = True
    client.update_item(TableName=name, Key={k: before[k] for k in ("pk", "sk")},
                       UpdateExpression="SET #s = :s, body = :b",
                       ExpressionAttributeNames={"#s": "status"},
                       ExpressionAttributeValues={":s": {"S": "delivered"}, ":b": {"S": "short"}})
    after = {**before, "status": {"S": "delivered"}, "body": {"S": "short"}}

    expected = write_cost(schema, before, after)
    # The ALL index: delete the 1.5 KB entry (2 units) and put the small new one (1 unit). KEYS_ONLY: its
    # key and the table's keys did not change, so nothing it projects changed.
    assert expected.index_units == {"by_status": 3}
    assert expected.index_writes == {"by_status": 2}
    assert expected.table_units == 2  # the larger of before and after
    row = recorder.meter.snapshot()["tables"][name]
    assert row["write_units"] == 2
    assert row["indexes"] == {"by_status": {"write_units": 3, "read_units": 0.0, "requests": 0,
                                            "items_written": 2, "items_read": 0, "bytes_written": 0}}
    assert recorder.errors == []


def test_reads_and_failed_conditions(recorder: DynamoDBRecorder, table: tuple[str, TableSchema]) -> None:
    name, _ = table
    client = _client("dynamodb", recorder.url)
    item = _item("created", 5000)  # ~5 KB: 2 read units strongly consistent
    client.put_item(TableName=name, Item=item)
    recorder.recording = True
    key = {k: item[k] for k in ("pk", "sk")}
    client.get_item(TableName=name, Key=key, ConsistentRead=True, ProjectionExpression="pk")  # billed on all of it
    client.query(TableName=name, IndexName="by_status", KeyConditionExpression="#s = :s",
                 ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "created"}},
                 ProjectionExpression="pk")
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(TableName=name, Item=item, ConditionExpression="attribute_not_exists(pk)")

    row = recorder.meter.snapshot()["tables"][name]
    assert row["read_units"] == get_units(item, consistent=True) == 2
    assert row["indexes"]["by_status"]["read_units"] == query_units([item]) == 1  # eventually consistent
    assert row["write_units"] == 5  # the failed put still consumed the existing item's size
    assert "by_status" not in {i for i, r in row["indexes"].items() if r["write_units"]}
    assert recorder.errors == []


def test_other_services_pass_through_unrecorded(moto_endpoint: str) -> None:
    with DynamoDBRecorder(moto_endpoint) as recorder:  # moto serves STS; DynamoDB Local does not
        recorder.recording = True
        assert _client("sts", recorder.url).get_caller_identity()["Account"]
        assert recorder.meter.snapshot() == {"tables": {}, "unrecorded": {}}
