"""The moto speed-ups change how long the emulator takes, never what it answers."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_runtime.services.moto_speedups import install


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    install()
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                                        {"AttributeName": "sk", "KeyType": "RANGE"}],
                                     "Projection": {"ProjectionType": "ALL"}}])
        yield client


def test_partition_query_pages_in_range_key_order(dynamodb) -> None:
    for n in range(60):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": f"p{n % 3}"}, "sk": {"S": f"{59 - n:03d}"},
                                               "g": {"S": "all"}})
    seen, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = dynamodb.query(TableName="t", KeyConditionExpression="pk = :p AND sk > :s", Limit=7,
                              ExpressionAttributeValues={":p": {"S": "p1"}, ":s": {"S": "010"}}, **kwargs)
        seen += [i["sk"]["S"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    expected = sorted(f"{59 - n:03d}" for n in range(60) if n % 3 == 1 and 59 - n > 10)
    assert seen == expected
    backwards = dynamodb.query(TableName="t", KeyConditionExpression="pk = :p", ScanIndexForward=False,
                               ExpressionAttributeValues={":p": {"S": "p2"}})["Items"]
    assert [i["sk"]["S"] for i in backwards] == sorted((f"{59 - n:03d}" for n in range(60) if n % 3 == 2),
                                                        reverse=True)
    on_index = dynamodb.query(TableName="t", IndexName="by_g", KeyConditionExpression="g = :g",
                              ExpressionAttributeValues={":g": {"S": "all"}})["Items"]
    assert len(on_index) == 60  # index Queries still see every partition


def test_item_size_limit_still_holds(dynamodb) -> None:
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "big": {"S": "x" * 300_000}})
    with pytest.raises(ClientError, match="Item size has exceeded"):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"S": "2"}, "big": {"S": "x" * 300_000},
                                               "more": {"S": "y" * 120_000}})
    with pytest.raises(ClientError, match="Item size"):
        dynamodb.update_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
                             UpdateExpression="SET more = :m", ExpressionAttributeValues={":m": {"S": "y" * 120_000}})
