"""DynamoDBOutbox against the suite's DynamoDB (DynamoDB Local through the autouse fixture's endpoint
variables): the by_due index finds what is due, one claim wins, a dead claimer's lease runs out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runtime.cloudformation import load_template
from local_runtime.services import aws
from logistics.adapters.codec import from_attributes, to_attributes
from logistics.adapters.dynamodb_notifications import DynamoDBOutbox, LoggedOnce

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def table(dynamodb_endpoint: str | None, request: pytest.FixtureRequest, unique_name: str) -> Iterator[tuple[Any, str]]:
    """NotificationsTable as template.yaml declares it (keys and the by_due index), under a unique name."""
    endpoint = dynamodb_endpoint or request.getfixturevalue("moto_endpoint")
    template = load_template(ROOT / "template.yaml", config_env="local", stack_name=unique_name[:40])
    props = template.resolve(template.resources["NotificationsTable"].raw_properties, "NotificationsTable")
    client = aws.client("dynamodb", endpoint, "us-east-1")
    name = props["TableName"]
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=props["KeySchema"],
                        AttributeDefinitions=props["AttributeDefinitions"],
                        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"])
    client.get_waiter("table_exists").wait(TableName=name)
    yield client, name
    client.delete_table(TableName=name)


def put(client: Any, name: str, shipment: str, **extra: Any) -> dict[str, Any]:
    item = {"shipment_key": f"m1#{shipment}", "notification_id": "2026-11-20T10:00:00.000Z#DELIVERED#webhook",
            "merchant_id": "m1", "shipment_id": shipment, "channel": "webhook", "outcome": "retrying",
            "attempts": 1, "deferred_bucket": "deferred", "body": '{"id":"x"}', **extra}
    client.put_item(TableName=name, Item=to_attributes(item))
    return item


def stored(client: Any, name: str, item: dict[str, Any]) -> dict[str, Any]:
    key = {"shipment_key": {"S": item["shipment_key"]}, "notification_id": {"S": item["notification_id"]}}
    return from_attributes(client.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"])


def test_due_finds_only_waiting_items_whose_time_has_come(table: tuple[Any, str]) -> None:
    client, name = table
    put(client, name, "s1", due_at="2026-11-20T10:00:01.000+00:00")
    put(client, name, "s2", due_at="2026-11-20T10:00:00.500+00:00")
    put(client, name, "s3", due_at="2026-11-20T10:00:02.000+00:00")  # later
    put(client, name, "s4", outcome="sent", deferred_bucket=None, due_at="2026-11-20T09:00:00.000+00:00")  # left
    due = DynamoDBOutbox(client, name).due("2026-11-20T10:00:01.000+00:00", 100)
    assert [e["shipment_id"] for e in due] == ["s2", "s1"]  # earliest first
    assert DynamoDBOutbox(client, name).due("2026-11-20T10:00:05.000+00:00", 2) == due


def test_one_claim_wins_among_concurrent_sweeps(table: tuple[Any, str]) -> None:
    client, name = table
    put(client, name, "s1", due_at="2026-11-20T10:00:00.000+00:00")
    outbox = DynamoDBOutbox(client, name)
    [seen] = outbox.due("2026-11-20T10:00:00.000+00:00", 10)
    tokens: list[str | None] = []
    threads = [threading.Thread(target=lambda: tokens.append(outbox.claim(seen, "2026-11-20T10:05:00.000+00:00")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([t for t in tokens if t]) == 1 and tokens.count(None) == 7
    claimed = stored(client, name, seen)
    assert claimed["outcome"] == "sending" and claimed["due_at"] == "2026-11-20T10:05:00.000+00:00"
    assert outbox.claim(seen, "2026-11-20T10:06:00.000+00:00") is None  # a stale read (as a lagging index gives)
    assert outbox.due("2026-11-20T10:04:59.000+00:00", 10) == []  # not due again before the lease ends


def test_a_dead_claimers_lease_runs_out_and_its_late_settle_is_refused(table: tuple[Any, str]) -> None:
    client, name = table
    put(client, name, "s1", due_at="2026-11-20T10:00:00.000+00:00")
    outbox = DynamoDBOutbox(client, name)
    [seen] = outbox.due("2026-11-20T10:00:00.000+00:00", 10)
    dead = outbox.claim(seen, "2026-11-20T10:05:00.000+00:00")
    assert dead is not None
    [again] = outbox.due("2026-11-20T10:05:00.000+00:00", 10)  # the lease is over: due again
    assert again["outcome"] == "sending"
    taker = outbox.claim(again, "2026-11-20T10:10:00.000+00:00")
    assert taker is not None
    assert outbox.settle(seen, dead, {"outcome": "sent"}, done=True) is False
    assert outbox.settle(again, taker, {"outcome": "sent", "attempts": 2, "error": None}, done=True) is True
    done = stored(client, name, seen)
    assert done["outcome"] == "sent" and done["attempts"] == 2
    assert not {"deferred_bucket", "body", "claimed_by", "error"} & set(done)
    assert outbox.due("2026-11-21T00:00:00.000+00:00", 10) == []  # out of the index


def test_settling_a_retry_keeps_it_waiting_with_what_to_send(table: tuple[Any, str]) -> None:
    client, name = table
    put(client, name, "s1", due_at="2026-11-20T10:00:00.000+00:00")
    outbox = DynamoDBOutbox(client, name)
    [seen] = outbox.due("2026-11-20T10:00:00.000+00:00", 10)
    token = outbox.claim(seen, "2026-11-20T10:05:00.000+00:00")
    assert token is not None
    assert outbox.settle(seen, token, {"outcome": "retrying", "attempts": 2, "error": "HTTP 503",
                                       "due_at": "2026-11-20T10:02:00.000+00:00"}, done=False)
    [waiting] = outbox.due("2026-11-20T10:02:00.000+00:00", 10)
    assert waiting["outcome"] == "retrying" and waiting["body"] == '{"id":"x"}' and "claimed_by" not in waiting
    assert waiting["attempts"] == 2 and waiting["error"] == "HTTP 503"


def test_the_stream_guard_leaves_whatever_the_outbox_holds_alone(table: tuple[Any, str]) -> None:
    client, name = table
    once = LoggedOnce(client, name)
    for outcome in ("retrying", "sending", "failed", "deferred", "sent"):
        item = put(client, name, f"s-{outcome}", outcome=outcome, due_at="2026-11-20T10:00:00.000+00:00")
        key = f"{item['shipment_key']}#{item['notification_id']}"
        assert once.run_once(key, lambda: pytest.fail("acted again"))["outcome"] == outcome
    assert once.run_once("m1#s-new#2026-11-20T10:00:00.000Z#DELIVERED#webhook",
                         lambda: {"outcome": "sent"}) == {"outcome": "sent"}
