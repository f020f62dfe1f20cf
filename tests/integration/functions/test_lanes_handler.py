"""LanesFunction invoked in-process with real stream records of the state table and the tumbling-window fields:
deliveries add up in the window's state, the final invocation merges them into LanesTable once."""

from __future__ import annotations

from boto3.dynamodb.conditions import Key

from logistics.domain.lanes import TRANSIT, LaneStats, bucket_of
from tests.factories import shipment_event
from tests.integration.functions.test_notify_handler import Stream, ingest

LANE = "L#DHL|-|DE>Europe/Berlin"


def window_event(records: list[dict], state: dict, *, final: bool, early: bool = False) -> dict:
    return {"Records": records, "window": {"start": "2026-11-22T10:00:00Z", "end": "2026-11-22T10:01:00Z"},
            "state": state, "shardId": "shard-1", "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/t/stream/1",
            "isFinalInvokeForWindow": final, "isWindowTerminatedEarly": early}


def lanes(stack) -> dict[str, LaneStats]:
    items = stack.table("LanesTable").query(KeyConditionExpression=Key("merchant_id").eq("m1"))["Items"]
    return {i["aggregate"]: LaneStats.from_item(i) for i in items}


def test_window_state_then_one_merge_per_window(stack):
    stream = Stream(stack)
    for sid, hours in (("s1", "12"), ("s2", "20")):
        ingest(stack, shipment_event(sid, "PICKED_UP", "2026-11-20T08:00:00+01:00"),
               shipment_event(sid, "IN_TRANSIT", "2026-11-20T09:00:00+01:00"))
        ingest(stack, shipment_event(sid, "DELIVERED", f"2026-11-21T{hours}:00:00+01:00"))
    ingest(stack, shipment_event("s3", "IN_TRANSIT", "2026-11-20T09:00:00+01:00"))  # not delivered: not counted
    records = stream.next_event()["Records"]
    assert len(records) >= 5

    first = stack.invoker.invoke("LanesFunction", window_event(records[:3], {}, final=False))
    assert first["batchItemFailures"] == [] and "lanes" in first["state"]
    second = stack.invoker.invoke("LanesFunction", window_event(records[3:], first["state"], final=False))
    assert lanes(stack) == {}  # nothing is written before the window ends
    final = window_event([], second["state"], final=True)
    assert stack.invoker.invoke("LanesFunction", final) == {"state": {}, "batchItemFailures": []}
    assert stack.invoker.invoke("LanesFunction", final) == {"state": {}, "batchItemFailures": []}  # AWS retries it

    stored = lanes(stack)
    assert set(stored) == {LANE, "C#DHL", "D#Europe/Berlin", "M#all"}
    lane = stored[LANE]
    assert lane.delivered == 2 and lane.on_time == 2  # the factory's ETA is 2026-11-22
    assert lane.histogram(TRANSIT).counts == {bucket_of(28.0): 1, bucket_of(36.0): 1}
    assert sum(lane.histogram("IN_TRANSIT").counts.values()) == 2

    # The same records replayed in another window (a restart after the merge) count again: at least once,
    # as the stream itself; the window token only makes the final invocation's retries harmless.
    again = [r for r in records if r["dynamodb"]["NewImage"]["status"]["S"] == "DELIVERED"]
    state = stack.invoker.invoke("LanesFunction", window_event(again, {}, final=False))["state"]
    later = window_event([], state, final=True)
    later["window"] = {"start": "2026-11-22T10:01:00Z", "end": "2026-11-22T10:02:00Z"}
    stack.invoker.invoke("LanesFunction", later)
    assert lanes(stack)[LANE].delivered == 4
