"""IngestFunction invoked in-process with MSK-shaped events, against the template's tables on moto."""

from __future__ import annotations

import base64
import json

from boto3.dynamodb.conditions import Key

from local_runtime.esm.kafka.events import KafkaMessage, build_kafka_event
from tests.factories import shipment_event, warehouse_event

CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/logistics/11111111-2222-3333-4444-555555555555-1"


def msk_event(messages: list[KafkaMessage]) -> dict:
    return build_kafka_event(messages, bootstrap_servers="b-1.example:9098,b-2.example:9098", cluster_arn=CLUSTER)


def message(payload: dict | None, offset: int, topic: str = "shipment-events", partition: int = 0,
            raw: bytes | None = None, key: bytes | None = b"s1") -> KafkaMessage:
    value = raw if raw is not None else json.dumps(payload).encode()
    return KafkaMessage(topic, partition, offset, 1_763_000_000_000 + offset, key=key, value=value,
                        headers=(("source", b"test"), ("trace", bytes([0xC3, 0xA9]))))


def test_stored_items_follow_the_contract(stack):
    events = [
        shipment_event("s1", "PICKED_UP", "2026-11-20T08:00:00+01:00", merchant_id="acme"),
        shipment_event("s1", "IN_TRANSIT", "2026-11-20T12:00:00+01:00", merchant_id="acme", sub_status="departed"),
        shipment_event("s2", "EXCEPTION", "2026-11-20T09:30:00-05:00", merchant_id="acme",
                       location={"city": "Chicago", "country": "US"}),
    ]
    wh = [warehouse_event("received", merchant_id="acme", items=[{"sku": "SKU-9", "qty": 12}]),
          warehouse_event("picked", merchant_id="acme", at="2026-11-20T09:00:00+01:00", shipment_id="s3",
                          items=[{"sku": "SKU-9", "qty": 2}])]
    batch = [message(e, i) for i, e in enumerate(events)] + [
        message(e, i, topic="warehouse-events", partition=1, key=None) for i, e in enumerate(wh)]
    response = stack.invoker.invoke("IngestFunction", msk_event(batch))
    assert response == {"batchItemFailures": []}

    s1 = stack.table("ShipmentsTable").get_item(Key={"merchant_id": "acme", "shipment_id": "s1"})["Item"]
    assert s1["status"] == "IN_TRANSIT" and s1["sub_status"] == "departed"
    assert s1["status_event_id"] == events[1]["event_id"]
    assert s1["updated_at"] == "2026-11-20T11:00:00.000Z"
    # index keys: status_key moves with the status, created_key never (the first event), ingested_key on every write
    assert "updated_key" not in s1  # derived by readers, not stored
    assert s1["status_key"] == "2026-11-20T11:00:00.000Z#s1"
    assert s1["created_key"] == "2026-11-20T07:00:00.000Z#s1"
    assert s1["ingested_key"].endswith("Z#s1") and "ingested_at" not in s1
    assert s1["merchant_status"] == "acme#IN_TRANSIT" and s1["merchant_geo"] == "acme#EU"
    assert s1["merchant_tracking"] == "acme#TRK-s1" and s1["version"] == 1
    assert s1["written_region"] == stack.region and len(s1["tracking_token"]) >= 20
    assert s1["milestones"] == {"PICKED_UP": "2026-11-20T07:00:00.000Z", "IN_TRANSIT": "2026-11-20T11:00:00.000Z"}

    s2 = stack.table("ShipmentsTable").get_item(Key={"merchant_id": "acme", "shipment_id": "s2"})["Item"]
    assert s2["attention_merchant"] == "acme" and s2["attention_reason"] == "address incomplete"
    assert s2["merchant_geo"] == "acme#NA"

    timeline = stack.table("TimelineTable").query(KeyConditionExpression=Key("entity").eq("acme#S#s1"))["Items"]
    assert [t["event_id"] for t in timeline] == [events[0]["event_id"], events[1]["event_id"]]
    assert {t["disposition"] for t in timeline} == {"applied"}
    assert timeline[0]["source"] == "shipment-events-0@0"
    assert json.loads(timeline[1]["event"])["sub_status"] == "departed"

    warehouse = stack.table("WarehousesTable").get_item(Key={"merchant_id": "acme", "warehouse_id": "w1"})["Item"]
    assert warehouse["stock"] == {"SKU-9": 10}
    assert set(warehouse["on_hand"]) == {"s3"}
    s3 = stack.table("ShipmentsTable").get_item(Key={"merchant_id": "acme", "shipment_id": "s3"})["Item"]
    assert s3["status"] == "PROCESSING" and s3["merchant_warehouse"] == "acme#w1"


def test_redelivered_batch_changes_nothing(stack):
    batch = [message(shipment_event("s1", "PICKED_UP", merchant_id="m9"), 0)]
    stack.invoker.invoke("IngestFunction", msk_event(batch))
    stack.invoker.invoke("IngestFunction", msk_event(batch))
    item = stack.table("ShipmentsTable").get_item(Key={"merchant_id": "m9", "shipment_id": "s1"})["Item"]
    assert item["version"] == 1 and item["event_count"] == 1


def test_poison_records_are_dead_lettered_and_the_rest_lands(stack):
    good = [shipment_event(f"s{i}", "IN_TRANSIT", merchant_id="m2") for i in range(3)]
    event = msk_event([
        message(good[0], 10),
        message(None, 11, raw=b"{not json"),
        message(shipment_event("s8", "WARPED", merchant_id="m2"), 12),
        message(good[1], 13),
        message({"event_type": "heartbeat!", "merchant_id": "m2"}, 14),
        message(good[2], 15),
    ])
    event["records"]["shipment-events-0"].append(
        {"topic": "shipment-events", "partition": 0, "offset": 16, "timestamp": 1, "timestampType": "CREATE_TIME",
         "value": "@@not-base64@@", "headers": []})
    response = stack.invoker.invoke("IngestFunction", event)
    assert response == {"batchItemFailures": []}  # nothing to retry: poison is dead-lettered, not retried

    shipments = stack.table("ShipmentsTable")
    for i in range(3):
        assert shipments.get_item(Key={"merchant_id": "m2", "shipment_id": f"s{i}"})["Item"]["status"] == "IN_TRANSIT"
    letters = stack.table("DeadLetterTable")
    attributed = letters.query(KeyConditionExpression=Key("merchant_id").eq("m2"))["Items"]
    unattributed = letters.query(KeyConditionExpression=Key("merchant_id").eq("_unattributed"))["Items"]
    by_source = {i["source"]: i for i in attributed + unattributed}
    assert set(by_source) == {f"shipment-events-0@{n}" for n in (11, 12, 14, 16)}
    assert base64.b64decode(by_source["shipment-events-0@11"]["value_b64"]) == b"{not json"
    assert "not JSON" in by_source["shipment-events-0@11"]["reason"]
    assert "WARPED" in by_source["shipment-events-0@12"]["reason"]
    assert by_source["shipment-events-0@12"]["merchant_id"] == "m2"
    assert "unknown event_type" in by_source["shipment-events-0@14"]["reason"]
    assert "base64" in by_source["shipment-events-0@16"]["reason"]
    assert by_source["shipment-events-0@11"]["headers"]["trace"] == base64.b64encode(bytes([0xC3, 0xA9])).decode()


def test_unstorable_records_are_named_for_retry(stack):
    """A throttled/unavailable table: records that were not stored come back in batchItemFailures."""
    client = stack.client("dynamodb")
    # Take the timeline table away: the state of s1 cannot be stored, poison still can be dead-lettered.
    client.delete_table(TableName=stack.physical("TimelineTable"))
    event = msk_event([message(shipment_event("s1", merchant_id="m3"), 0), message(None, 1, raw=b"junk"),
                       message(shipment_event("s2", merchant_id="m3"), 0, partition=2)])
    response = stack.invoker.invoke("IngestFunction", event)
    assert sorted(response["batchItemFailures"], key=lambda f: f["itemIdentifier"]["partition"]) == [
        {"itemIdentifier": {"partition": "shipment-events-0", "offset": 0}},
        {"itemIdentifier": {"partition": "shipment-events-2", "offset": 0}},
    ]
    assert "Item" not in stack.table("ShipmentsTable").get_item(Key={"merchant_id": "m3", "shipment_id": "s1"})


def test_an_event_without_records_is_an_empty_response(stack):
    """Issue 9 item 6: {"records": {}}, {} and empty partitions answer, they do not raise."""
    for event in ({"records": {}}, {}, {"records": {"shipment-events-0": []}},
                  {"eventSource": "aws:kafka", "records": {}}):
        assert stack.invoker.invoke("IngestFunction", event) == {"batchItemFailures": []}


def test_one_dead_letter_dynamodb_refuses_does_not_fail_the_others(stack):
    from logistics.adapters.dynamodb_timeline import batch_write
    from logistics.domain.ports import Unstorable

    client, table = stack.client("dynamodb"), stack.physical("DeadLetterTable")
    items = [{"merchant_id": "m12", "dlq_key": f"k{n}", "reason": "r"} for n in range(30)]
    items[7]["value_b64"] = "x" * 500_000  # above 400 KB: DynamoDB refuses it (and with it the whole request)
    errors = batch_write(client, table, items)
    assert list(errors) == [7] and isinstance(errors[7], Unstorable)
    stored = stack.table("DeadLetterTable").query(KeyConditionExpression=Key("merchant_id").eq("m12"))["Items"]
    assert len(stored) == 29
