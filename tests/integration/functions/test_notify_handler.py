"""NotifyFunction and the outbox sweep (DeferredNotifyFunction) invoked in-process with real stream records
of the state table (DynamoDB Local, or moto without Java)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from boto3.dynamodb.conditions import Key

from local_runtime.cloudformation import load_template
from local_runtime.esm.dynamodb.events import build_stream_event, build_stream_record
from local_runtime.esm.kafka.events import KafkaMessage, build_kafka_event
from local_runtime.invoke import Invoker
from logistics.webhook_signature import HEADER, SignatureError, verify
from tests.factories import shipment_event

SECRET = "whsec-test"
CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/logistics/11111111-2222-3333-4444-555555555555-1"


class Receiver:
    """A merchant's webhook endpoint on 127.0.0.1 that records what it receives."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/logistics"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def world(stack, receiver):
    stack.table("MerchantsTable").put_item(Item={"merchant_id": "m1", "webhook_url": receiver.url,
                                                 "webhook_secret": SECRET})
    sqs, sns = stack.client("sqs"), stack.client("sns")
    queue_url = sqs.create_queue(QueueName=f"{stack.physical('ShipmentsTable')}-customer-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic_arn = stack.deployment.resources["CustomerNotificationsTopic"].ref
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return stack, receiver, queue_url


def ingest(stack, *events: dict) -> None:
    messages = [KafkaMessage("shipment-events", 0, i, 1_763_000_000_000, key=b"k", value=json.dumps(e).encode())
                for i, e in enumerate(events)]
    response = stack.invoker.invoke("IngestFunction", build_kafka_event(messages, bootstrap_servers="b:9092",
                                                                        cluster_arn=CLUSTER))
    assert response == {"batchItemFailures": []}


class Stream:
    """Reads the state table's stream from where it last stopped, as the mapping would."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.client = stack.client("dynamodbstreams")
        self.arn = stack.attribute("ShipmentsTable", "StreamArn")
        self.shard = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator: str | None = None

    def next_event(self) -> dict:
        if self.iterator is None:  # taken at the first read: an empty shard's TRIM_HORIZON can go stale locally
            self.iterator = self.client.get_shard_iterator(StreamArn=self.arn, ShardId=self.shard,
                                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        page = self.client.get_records(ShardIterator=self.iterator)
        self.iterator = page["NextShardIterator"]
        return build_stream_event(build_stream_record(r, region=self.stack.region, stream_arn=self.arn)
                                  for r in page["Records"])


def customer_messages(stack, queue_url: str) -> list[dict]:
    sqs = stack.client("sqs")
    found = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            return found
        found += [json.loads(m["Body"]) for m in got["Messages"]]


def log_entries(stack, shipment_key: str) -> list[dict]:
    from boto3.dynamodb.conditions import Key

    return stack.table("NotificationsTable").query(KeyConditionExpression=Key("shipment_key").eq(shipment_key))[
        "Items"]


AFTERNOON = {"contact_ref": "c1", "channels": ["email"], "timezone": "UTC"}


def test_status_change_notifies_once_even_when_the_batch_comes_twice(world):
    stack, receiver, queue_url = world
    stream = Stream(stack)
    ingest(stack, shipment_event("s1", "PICKED_UP", "2026-11-20T08:00:00+01:00", customer=AFTERNOON))
    first = stream.next_event()
    ingest(stack, shipment_event("s1", "IN_TRANSIT", "2026-11-20T10:00:00+01:00", customer=AFTERNOON))
    second = stream.next_event()
    assert [r["eventName"] for r in first["Records"] + second["Records"]] == ["INSERT", "MODIFY"]

    for event in (first, second, second):  # the second batch is delivered twice
        assert stack.invoker.invoke("NotifyFunction", event) == {"batchItemFailures": []}

    statuses = [json.loads(body)["status"] for _, body in receiver.requests]
    assert statuses == ["PICKED_UP", "IN_TRANSIT"]
    assert sorted(m["status"] for m in customer_messages(stack, queue_url)) == ["IN_TRANSIT", "PICKED_UP"]
    outcomes = sorted((e["status"], e["channel"], e["outcome"]) for e in log_entries(stack, "m1#s1"))
    assert outcomes == [("IN_TRANSIT", "customer", "sent"), ("IN_TRANSIT", "webhook", "sent"),
                        ("PICKED_UP", "customer", "sent"), ("PICKED_UP", "webhook", "sent")]


def test_modify_without_status_change_notifies_nothing(world):
    stack, receiver, queue_url = world
    stream = Stream(stack)
    ingest(stack, shipment_event("s1", "IN_TRANSIT", "2026-11-20T08:00:00+01:00", sub_status="arrived"))
    stack.invoker.invoke("NotifyFunction", stream.next_event())
    receiver.requests.clear()
    customer_messages(stack, queue_url)
    ingest(stack, shipment_event("s1", "IN_TRANSIT", "2026-11-20T09:00:00+01:00", sub_status="departed"))
    event = stream.next_event()
    assert [r["eventName"] for r in event["Records"]] == ["MODIFY"]
    assert stack.invoker.invoke("NotifyFunction", event) == {"batchItemFailures": []}
    assert receiver.requests == [] and customer_messages(stack, queue_url) == []


def retry_invoker(stack, **parameters: str) -> Invoker:
    """The stack's functions with other retry parameters (the template passes them on as environment variables)."""
    template = load_template(Path(__file__).resolve().parents[3] / "template.yaml", config_env="local",
                             stack_name=stack.template.context.stack_name, endpoint_url=stack.endpoint,
                             parameter_overrides=parameters)
    return Invoker(template.functions(), region=stack.region, base_env=stack.env)


SWEEP = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


def test_a_failed_webhook_fails_no_record_and_the_sweep_redelivers_the_same_body_signed_afresh(world):
    stack, receiver, _ = world
    invoker = retry_invoker(stack, NotifyRetryBaseSeconds="0")  # the next attempt is due at once
    receiver.status = 500
    stream = Stream(stack)
    ingest(stack, shipment_event("s1", "DELIVERED", customer=AFTERNOON))
    event = stream.next_event()
    assert invoker.invoke("NotifyFunction", event) == {"batchItemFailures": []}
    assert len(receiver.requests) == 3  # the sender's quick retries, then the outbox
    [waiting] = [e for e in log_entries(stack, "m1#s1") if e["channel"] == "webhook"]
    assert waiting["outcome"] == "retrying" and "HTTP 500" in waiting["error"] and waiting["attempts"] == 1
    assert waiting["body"].encode() == receiver.requests[0][1]
    # The same record again (a retried batch) sends nothing: the outbox owns the delivery.
    assert invoker.invoke("NotifyFunction", event) == {"batchItemFailures": []}
    assert len(receiver.requests) == 3

    receiver.status = 200
    before = int(time.time())
    assert invoker.invoke("DeferredNotifyFunction", SWEEP)["sent"] == 1
    headers, body = receiver.requests[-1]
    assert body == receiver.requests[0][1]  # same bytes, so the same id
    assert verify(SECRET, body, headers[HEADER]) >= before  # a signature made at the redelivery
    [sent] = [e for e in log_entries(stack, "m1#s1") if e["channel"] == "webhook"]
    assert sent["outcome"] == "sent" and sent["attempts"] == 2 and "body" not in sent and "error" not in sent
    assert invoker.invoke("DeferredNotifyFunction", SWEEP)["sent"] == 0 and len(receiver.requests) == 4


def test_after_the_retry_window_the_delivery_is_failed_and_dead_lettered(world):
    stack, receiver, _ = world
    invoker = retry_invoker(stack, NotifyRetryBaseSeconds="0", NotifyRetryWindowSeconds="0")
    receiver.status = 503
    stream = Stream(stack)
    ingest(stack, shipment_event("s1", "DELIVERED", customer=AFTERNOON))
    assert invoker.invoke("NotifyFunction", stream.next_event()) == {"batchItemFailures": []}
    result = invoker.invoke("DeferredNotifyFunction", SWEEP)
    assert (result["sent"], result["failed"]) == (0, 1) and len(receiver.requests) == 4
    [failed] = [e for e in log_entries(stack, "m1#s1") if e["channel"] == "webhook"]
    assert failed["outcome"] == "failed" and "HTTP 503" in failed["error"] and "deferred_bucket" not in failed
    letters = stack.table("DeadLetterTable").query(KeyConditionExpression=Key("merchant_id").eq("m1"))["Items"]
    [letter] = letters
    assert letter["reason"] == failed["error"] and letter["source"].startswith("notification:m1#s1#")
    assert json.loads(base64.b64decode(letter["value_b64"]))["status"] == "DELIVERED"  # what was not delivered
    assert invoker.invoke("DeferredNotifyFunction", SWEEP)["failed"] == 0


def test_webhook_signature_verifies_and_detects_tampering(world):
    stack, receiver, _ = world
    stream = Stream(stack)
    ingest(stack, shipment_event("s1", "OUT_FOR_DELIVERY"))
    stack.invoker.invoke("NotifyFunction", stream.next_event())
    headers, body = receiver.requests[0]
    signature = headers[HEADER]
    timestamp = verify(SECRET, body, signature)
    assert json.loads(body)["status"] == "OUT_FOR_DELIVERY"
    with pytest.raises(SignatureError):
        verify(SECRET, body.replace(b"OUT_FOR_DELIVERY", b"DELIVERED"), signature)
    forged = signature.replace(f"t={timestamp}", f"t={timestamp + 1}")
    with pytest.raises(SignatureError):
        verify(SECRET, body, forged)
