"""FilterCriteria through real mappings: the suite's Tansu broker and its DynamoDB (Local, or moto) streams.

What AWS documents (docs/EVENT_FILTERING.md): a record that matches no filter never reaches the function;
Kafka commits offsets "for matched and unmatched messages", a stream's iterator "advances past" a filtered
record; so a batch of filtered records invokes nothing, and a restarted mapping does not see them again.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

from local_runtime.esm.dynamodb.mapping import JsonFileCheckpointStore
from local_runtime.esm.filtering import parse_filter_pattern
from tests.integration.local_runtime.esm import test_kafka_mapping as kafka_support
from tests.integration.local_runtime.esm import test_stream_mapping as stream_support

NOT_UTF8 = b"\xff\xfeOrder \xc3\x28"
BOOLEAN = (  # with-ddb-filtering.html, "Filtering with Boolean expressions": "dynamodb" written twice
    '{ "dynamodb" : { "NewImage" : { "AccountManager" : { "S" : [ "Pat Candella" ] } } } , '
    '"dynamodb" : { "OldImage" : { "AccountManager" : { "S" : [ "Terry Whitlock" ] } } } }'
)


# ------------------------------------------------------------------------------------------ Kafka


def test_kafka_text_and_json_values_are_filtered_and_every_offset_committed(kafka_bootstrap: str) -> None:
    topic = kafka_support.new_topic(kafka_bootstrap)
    ends = kafka_support.produce(kafka_bootstrap, topic, [
        {"value": b"OrderCreated 42"},  # 0: plain string, matches the prefix filter
        {"value": json.dumps({"device_ID": "AB1234"}).encode()},  # 1: JSON, matches the object filter
        {"value": b"PaymentTaken"},
        {"value": json.dumps({"device_ID": "CD1234"}).encode()},
        {"value": b'"AB1234"'},  # a JSON string: not an object, the object filter does not apply
        {"value": NOT_UTF8},  # not UTF-8: no value filter applies
        {"value": None, "key": b"k"},  # tombstone
        {"value": b"OrderCancelled"},  # 7: matches
        {"value": b"order lower case"},  # trailing filtered record: committed too
    ])
    patterns = (parse_filter_pattern('{"value": [{"prefix": "Order"}]}'),
                parse_filter_pattern('{ "value" : { "device_ID" : [ { "prefix": "AB" } ] } }'))
    rec = kafka_support.Recorder()
    m = kafka_support.mapping(kafka_support.spec(topic, filter_patterns=patterns), rec, kafka_bootstrap)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    invoked = [o for e in rec.events for o in kafka_support.offsets_of(e)[f"{topic}-0"]]
    assert invoked == [0, 1, 7]
    assert m.counters.records_filtered == 6
    assert m.counters.snapshot()["records_filtered"] == 6
    assert kafka_support.broker_committed(kafka_bootstrap, m.group_id) == ends == {0: 9}


def test_kafka_batch_entirely_filtered_invokes_nothing_and_a_restart_skips_it(kafka_bootstrap: str) -> None:
    # One partition: a restarted mapping knows a partition's position only once it reads from it again.
    topic = kafka_support.new_topic(kafka_bootstrap)
    group = f"g-{uuid.uuid4().hex[:8]}"
    ends = kafka_support.produce(kafka_bootstrap, topic, [
        {"key": f"k{i}".encode(), "value": json.dumps({"kind": "noise", "i": i}).encode()} for i in range(30)])
    only_orders = (parse_filter_pattern('{"value": {"kind": ["order"]}}'),)
    rec = kafka_support.Recorder()
    s = kafka_support.spec(topic, filter_patterns=only_orders, consumer_group_id=group)
    m = kafka_support.mapping(s, rec, kafka_bootstrap)
    m.run_until_idle(timeout=20, idle_s=0.3)
    m.stop()
    assert rec.events == [] and m.counters.invocations == 0
    assert m.counters.records_filtered == 30
    assert kafka_support.broker_committed(kafka_bootstrap, group) == ends

    kafka_support.produce(kafka_bootstrap, topic, [{"key": b"k0", "value": json.dumps({"kind": "order"}).encode()}])
    again = kafka_support.Recorder()
    unfiltered = kafka_support.spec(topic, consumer_group_id=group)  # same group, no filter: sees only what is new
    m2 = kafka_support.mapping(unfiltered, again, kafka_bootstrap)
    m2.run_until_idle(timeout=20, idle_s=0.3)
    m2.stop()
    assert kafka_support.values_of(again.events[0]) == [{"kind": "order"}] and len(again.events) == 1


# ------------------------------------------------------------------------------------------ DynamoDB Streams


def test_stream_documented_boolean_example_with_a_repeated_key(moto_endpoint: str) -> None:
    table = stream_support.Table(moto_endpoint)
    table.put("a", AccountManager="Pat Candella")  # INSERT: no OldImage
    table.put("a", AccountManager="Terry Whitlock")  # MODIFY Pat -> Terry
    table.put("a", AccountManager="Pat Candella")  # MODIFY Terry -> Pat: the only match
    table.put("a", AccountManager="Pat Candella", note="x")  # MODIFY Pat -> Pat
    rec = stream_support.Recorder()
    s = stream_support.spec(table, filter_patterns=(parse_filter_pattern(BOOLEAN),))
    m = stream_support.mapping(s, rec, moto_endpoint)
    m.run_until_idle()
    (record,) = [r for e in rec.events for r in e["Records"]]
    assert record["dynamodb"]["OldImage"]["AccountManager"] == {"S": "Terry Whitlock"}
    assert record["dynamodb"]["NewImage"]["AccountManager"] == {"S": "Pat Candella"}
    assert m.counters.records_filtered == 3


def test_stream_batch_entirely_filtered_invokes_nothing_and_a_restart_skips_it(
    moto_endpoint: str, tmp_path: Path
) -> None:
    table = stream_support.Table(moto_endpoint)
    for i in range(5):
        table.put(f"k{i}", n=i + 1)  # N values are strings in the record: a numeric filter never matches them
    store = JsonFileCheckpointStore(tmp_path / "checkpoints.json")
    numeric = parse_filter_pattern('{"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 0]}]}}}}')
    s = stream_support.spec(table, filter_patterns=(numeric,))
    rec = stream_support.Recorder()
    m = stream_support.mapping(s, rec, moto_endpoint, checkpoint_store=store)
    m.run_until_idle()
    m.stop()
    assert rec.events == [] and m.counters.invocations == 0
    assert m.counters.records_filtered == 5
    (checkpoint,) = m.checkpoints().values()
    everything = stream_support.Recorder()
    stream_support.mapping(stream_support.spec(table), everything, moto_endpoint).run_until_idle()
    assert checkpoint == stream_support.seqs(everything.events[-1])[-1]  # past the last (filtered) record

    table.put("new", n=7)
    again = stream_support.Recorder()
    unfiltered = dataclasses.replace(s, filter_patterns=())  # same mapping (same id), filter removed
    restarted = stream_support.mapping(unfiltered, again, moto_endpoint, checkpoint_store=store)
    restarted.run_until_idle()
    assert again.all_keys == ["new"]  # resumed after the filtered records, nothing redelivered
