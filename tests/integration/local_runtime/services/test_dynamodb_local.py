"""local_runtime.services.dynamodb_local starts Amazon's real DynamoDB Local (Java), and stops it cleanly.

The stream assertions pin down how DynamoDB Local's records differ from what Lambda delivers on AWS (region
``ddblocal``, account ``000000000000`` in ARNs, creation time rounded down to the minute, no
``eventSourceARN``): the stream-mapping emulation has to rewrite those.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from local_runtime.services import aws
from local_runtime.services.dynamodb_local import (
    DEFAULT_INSTALL,
    DIR_VARIABLE,
    ENDPOINT_VARIABLES,
    EmbeddedDynamoDB,
    can_run,
    cannot_run_reason,
    find_dynamodb_local,
)

ROOT = Path(__file__).resolve().parents[4]
STREAM_ARN = re.compile(
    r"^arn:aws:dynamodb:ddblocal:000000000000:table/(?P<table>[\w.-]+)/stream/"
    r"(?P<label>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})$"
)

needs_dynamodb_local = pytest.mark.skipif(not can_run(), reason=cannot_run_reason() or "")


def _gone(pid: int) -> bool:
    """True once the process no longer exists (or is a zombie nobody reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def _port_free(host: str, port: int) -> bool:
    """True when a server could listen on ``port`` (SO_REUSEADDR, as servers do: TIME_WAIT does not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


@pytest.fixture(autouse=True)
def _own_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests start DynamoDB Locals of their own: the suite's per-service endpoints must not redirect them."""
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ddb_local() -> Iterator[EmbeddedDynamoDB]:
    """One DynamoDB Local for the module's tests (each names its own tables)."""
    if not can_run():
        pytest.skip(cannot_run_reason() or "")
    with EmbeddedDynamoDB() as server:
        yield server


@pytest.fixture
def table_name() -> str:
    return f"shipments-{uuid.uuid4().hex[:8]}"


def _create_table(client: Any, name: str) -> dict[str, Any]:
    """Shipments-like table: pk/sk, a GSI on status, NEW_AND_OLD_IMAGES stream."""
    return client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "status")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[{
            "IndexName": "by-status",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]


# ------------------------------------------------------------------------------- the real server


@needs_dynamodb_local
def test_conditional_writes_gsi_query_and_stream_records(ddb_local: EmbeddedDynamoDB, table_name: str) -> None:
    ddb = aws.client("dynamodb", ddb_local.endpoint_url, "eu-west-1")
    described = _create_table(ddb, table_name)
    assert described["TableStatus"] == "ACTIVE"  # no CREATING phase without -delayTransientStatuses
    assert described["TableArn"] == f"arn:aws:dynamodb:ddblocal:000000000000:table/{table_name}"
    stream_arn = described["LatestStreamArn"]
    match = STREAM_ARN.match(stream_arn)
    assert match and match["table"] == table_name and match["label"] == described["LatestStreamLabel"]

    item = {"pk": {"S": "SHIP#1"}, "sk": {"S": "META"}, "status": {"S": "CREATED"}, "weight": {"N": "12.5"}}
    ddb.put_item(TableName=table_name, Item=item, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError) as failed:
        ddb.put_item(TableName=table_name, Item={**item, "status": {"S": "LOST"}},
                     ConditionExpression="attribute_not_exists(pk)")
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    ddb.put_item(TableName=table_name, Item={**item, "status": {"S": "IN_TRANSIT"}},
                 ConditionExpression="#s = :old", ExpressionAttributeNames={"#s": "status"},
                 ExpressionAttributeValues={":old": {"S": "CREATED"}})
    ddb.put_item(TableName=table_name, Item={"pk": {"S": "SHIP#2"}, "sk": {"S": "META"}, "status": {"S": "CREATED"}})

    in_transit = ddb.query(TableName=table_name, IndexName="by-status", KeyConditionExpression="#s = :s",
                           ExpressionAttributeNames={"#s": "status"},
                           ExpressionAttributeValues={":s": {"S": "IN_TRANSIT"}})["Items"]
    assert [i["pk"]["S"] for i in in_transit] == ["SHIP#1"]
    created = ddb.query(TableName=table_name, IndexName="by-status", KeyConditionExpression="#s = :s",
                        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "CREATED"}})
    assert [i["pk"]["S"] for i in created["Items"]] == ["SHIP#2"]

    streams = aws.client("dynamodbstreams", ddb_local.endpoint_url, "eu-west-1")
    description = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
    assert description["StreamViewType"] == "NEW_AND_OLD_IMAGES" and description["StreamStatus"] == "ENABLED"
    (shard,) = description["Shards"]
    assert shard["ShardId"].startswith("shardId-")
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert iterator.startswith(stream_arn + "|")  # the local ARN is embedded in the iterator too
    records = streams.get_records(ShardIterator=iterator)["Records"]

    # The failed conditional put wrote nothing, so three records: INSERT, MODIFY, INSERT.
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "INSERT"]
    for record in records:
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == "ddblocal"  # not eu-west-1: rewritten by the mapping
        assert "eventSourceARN" not in record  # GetRecords never has it; Lambda adds the (real) stream ARN
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert re.fullmatch(r"\d{21}", record["dynamodb"]["SequenceNumber"])
        created_at = record["dynamodb"]["ApproximateCreationDateTime"]
        assert isinstance(created_at, datetime)
        assert (created_at.second, created_at.microsecond) == (0, 0)  # rounded down to the minute
    modify = records[1]["dynamodb"]
    assert modify["Keys"] == {"pk": {"S": "SHIP#1"}, "sk": {"S": "META"}}
    assert modify["OldImage"]["status"] == {"S": "CREATED"}
    assert modify["NewImage"]["status"] == {"S": "IN_TRANSIT"}
    assert modify["NewImage"]["weight"] == {"N": "12.5"}
    assert "OldImage" not in records[0]["dynamodb"]

    # Only the local ARN is known: one rewritten to the real region/account is refused.
    real_arn = stream_arn.replace(":ddblocal:000000000000:", ":eu-west-1:123456789012:")
    with pytest.raises(ClientError) as missing:
        streams.describe_stream(StreamArn=real_arn)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


@needs_dynamodb_local
def test_shared_db_ignores_credentials_and_region(ddb_local: EmbeddedDynamoDB, table_name: str) -> None:
    _create_table(aws.client("dynamodb", ddb_local.endpoint_url, "eu-west-1"), table_name)
    other = boto3.session.Session(aws_access_key_id="AKIDSOMEONEELSE", aws_secret_access_key="x",
                                  region_name="ap-southeast-2").client("dynamodb", endpoint_url=ddb_local.endpoint_url)
    assert table_name in other.list_tables(Limit=100)["TableNames"]


@needs_dynamodb_local
def test_env_routes_plain_boto3_clients(ddb_local: EmbeddedDynamoDB, table_name: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    env = ddb_local.env()
    assert env == dict.fromkeys(ENDPOINT_VARIABLES, ddb_local.endpoint_url)
    assert set(env) == {"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS"}
    _create_table(aws.client("dynamodb", ddb_local.endpoint_url), table_name)
    elsewhere = "http://127.0.0.1:9"  # the general endpoint (moto in the runtime) points somewhere else
    for name, value in {**aws.aws_env(elsewhere, "eu-west-1"), **env}.items():
        monkeypatch.setenv(name, value)
    for name in aws.SCRUBBED_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    dynamodb = boto3.client("dynamodb")  # what a handler does: no endpoint_url argument
    assert dynamodb.meta.endpoint_url == ddb_local.endpoint_url
    assert table_name in dynamodb.list_tables(Limit=100)["TableNames"]
    streams = boto3.client("dynamodbstreams")
    assert streams.meta.endpoint_url == ddb_local.endpoint_url
    assert any(s["TableName"] == table_name for s in streams.list_streams(TableName=table_name)["Streams"])
    assert boto3.client("sqs").meta.endpoint_url == elsewhere  # other services still use AWS_ENDPOINT_URL
    # The runtime's own clients take the general endpoint and apply the same rule as botocore's variables.
    assert aws.client("dynamodb", elsewhere).meta.endpoint_url == ddb_local.endpoint_url
    assert aws.client("dynamodbstreams", elsewhere).meta.endpoint_url == ddb_local.endpoint_url
    assert aws.client("sqs", elsewhere).meta.endpoint_url == elsewhere


# ------------------------------------------------------------------------------------ lifecycle


@needs_dynamodb_local
def test_start_reports_and_stop_frees_everything() -> None:
    server = EmbeddedDynamoDB()
    with server:
        endpoint = server.endpoint_url
        pid = server.pid
        assert pid is not None and server.startup_s is not None
        port = int(endpoint.rsplit(":", 1)[1])
        assert endpoint == f"http://127.0.0.1:{port}"
        aws.client("dynamodb", endpoint).list_tables()
    assert _gone(pid)
    assert _port_free("127.0.0.1", port)
    with pytest.raises(EndpointConnectionError):
        aws.client("dynamodb", endpoint).list_tables()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.endpoint_url
    server.stop()  # twice is fine


_ORPHAN_SCRIPT = """
import sys, time
from local_runtime.services.dynamodb_local import EmbeddedDynamoDB
server = EmbeddedDynamoDB()
server.start()
print(server.pid, flush=True)
time.sleep(600)
"""


@needs_dynamodb_local
def test_jvm_dies_with_a_killed_parent() -> None:
    """SIGKILL gives the runtime no chance to stop the JVM; PR_SET_PDEATHSIG does it."""
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        jvm_pid = int(parent.stdout.readline())
        assert not _gone(jvm_pid)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
    deadline = time.monotonic() + 15
    while not _gone(jvm_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not _gone(jvm_pid):  # clean up before failing
        os.kill(jvm_pid, signal.SIGKILL)
        pytest.fail("the JVM outlived its killed parent")


# ------------------------------------------------------------------------------ cannot run here


def test_cannot_run_without_java(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    reason = cannot_run_reason()
    assert reason is not None and "\n" not in reason
    assert "java" in reason and "make setup" in reason and "apt-get install openjdk-17-jre-headless" in reason
    assert not can_run()
    with pytest.raises(RuntimeError, match="needs Java 17"):
        EmbeddedDynamoDB().start()


def test_cannot_run_without_the_jar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\nexit 1\n")
    java.chmod(0o755)  # a java on PATH, so only the jar is missing
    monkeypatch.setenv(DIR_VARIABLE, str(tmp_path / "missing"))
    reason = cannot_run_reason()
    assert reason is not None and "\n" not in reason
    assert "make dynamodb-local" in reason and DIR_VARIABLE in reason and str(tmp_path / "missing") in reason
    assert find_dynamodb_local() is None
    with pytest.raises(RuntimeError, match="jar not found"):
        EmbeddedDynamoDB().start()


def test_jar_directory_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    release = tmp_path / "lib" / "dynamodb_local_2026-05-28"
    release.mkdir(parents=True)
    (release / "DynamoDBLocal.jar").write_bytes(b"")
    (tmp_path / "lib" / "dynamodb_local_2025-01-01").mkdir()  # older and empty: not chosen
    monkeypatch.setenv(DIR_VARIABLE, str(tmp_path / "lib"))
    assert find_dynamodb_local() == release  # a directory of releases
    assert find_dynamodb_local(release) == release  # or the release itself
    monkeypatch.delenv(DIR_VARIABLE)
    if (found := find_dynamodb_local()) is not None:  # the make install
        assert found.parent == DEFAULT_INSTALL and (found / "DynamoDBLocal_lib").is_dir()
