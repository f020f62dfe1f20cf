"""End to end on the embedded stack: simulated events through a real Kafka client, the emulated
mappings and the real handlers, checked against the domain model's ground truth."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from local_runtime.demo.merchants import seed_merchants, start_webhook_sink
from local_runtime.esm.dynamodb.events import build_stream_record
from local_runtime.runtime import LocalPlatform, PlatformOptions
from local_runtime.services import aws
from local_runtime.simulator.noise import NoiseShares
from local_runtime.simulator.run import simulate
from local_runtime.simulator.world import merchant_records
from logistics.adapters.codec import from_attributes
from logistics.domain.notifications import status_change
from logistics.domain.shipment import fold

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def eventually(check: Callable[[], Any], timeout_s: float = 90.0, every_s: float = 0.5) -> Any:
    """Retry an assertion until it holds (the pipeline is asynchronous)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(every_s)


class Pipeline:
    def __init__(self, moto_endpoint: str, kafka_bootstrap: str, state_dir: Path) -> None:
        suffix = uuid.uuid4().hex[:6]
        self.topics = (f"shipment-events-{suffix}", f"warehouse-events-{suffix}")
        self.sink = start_webhook_sink()
        self.platform = LocalPlatform(PlatformOptions(
            template=ROOT / "template.yaml",
            stack_name=f"e2e-{suffix}",
            parameter_overrides={"ShipmentTopic": self.topics[0], "WarehouseTopic": self.topics[1],
                                 "IngestConsumerGroupId": f"ingest-{suffix}"},
            dashboard_port=None,
            state_dir=state_dir,
            aws_endpoint=moto_endpoint,
            kafka_bootstrap=kafka_bootstrap,
            consumer_config={"session.timeout.ms": 6000},
        )).start()
        seed_merchants(self.platform, self.sink)
        self.resource = boto3.resource("dynamodb", endpoint_url=aws.service_endpoint("dynamodb", moto_endpoint),
                                       region_name=self.platform.region,
                                       aws_access_key_id="testing", aws_secret_access_key="testing")

    def table(self, logical_id: str) -> Any:
        assert self.platform.template is not None
        return self.resource.Table(self.platform.template.physical_name(logical_id))

    def produce(self, count: int, seed: int, shares: NoiseShares) -> Any:
        return simulate(self.platform.kafka.bootstrap_servers, rate=None, count=count, seed=seed, shares=shares,
                        topics=self.topics, progress=False)

    def committed(self) -> dict[str, int]:
        """Per topic, the sum of the offsets the mappings' consumer groups committed, read from the broker."""
        from confluent_kafka import Consumer, TopicPartition

        totals: Counter[str] = Counter()
        bootstrap = self.platform.kafka.bootstrap_servers
        for spec in self.platform.template.event_source_mappings():
            if spec.kind not in ("MSK", "SelfManagedKafka"):
                continue
            group = spec.consumer_group_id
            reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
            try:
                for topic in spec.topics:
                    partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
                    offsets = reader.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
                    totals[topic] += sum(max(tp.offset, 0) for tp in offsets)
            finally:
                reader.close()
        return dict(totals)

    def stream_changes(self) -> Counter[str]:
        """Every status change the state table's stream carries (read independently of the mapping)."""
        client = aws.client("dynamodbstreams", self.platform.aws.endpoint_url, self.platform.region)
        arn = self.platform.deployment.resources["ShipmentsTable"].attributes["StreamArn"]
        changes: Counter[str] = Counter()
        for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while iterator:
                page = client.get_records(ShardIterator=iterator, Limit=1000)
                for raw in page["Records"]:
                    record = build_stream_record(raw, region=self.platform.region, stream_arn=arn)
                    images = record["dynamodb"]
                    change = status_change(from_attributes(images.get("OldImage") or {}) or None,
                                           from_attributes(images.get("NewImage") or {}))
                    if change is not None:
                        changes[change.key] += 1
                iterator = page.get("NextShardIterator") if page["Records"] else None
        return changes

    def dead_letter_hashes(self) -> dict[str, str]:
        table = self.table("DeadLetterTable")
        found: dict[str, str] = {}
        merchants = [m["merchant_id"] for m in merchant_records()] + ["_unattributed"]
        for merchant in merchants:
            for item in table.query(KeyConditionExpression=Key("merchant_id").eq(merchant))["Items"]:
                if item.get("value_truncated"):
                    # An oversized value keeps only a prefix, its length and its sha256 (a small item).
                    prefix = base64.b64decode(item["value_prefix_b64"])
                    assert len(prefix) <= 256 < int(item["value_bytes"]) and "value_b64" not in item
                    found[str(item["value_sha256"])] = item["reason"]
                    continue
                raw = base64.b64decode(item["value_b64"]) if item.get("value_b64") else b""
                found[hashlib.sha256(raw).hexdigest()] = item["reason"]
        return found

    def close(self) -> None:
        self.platform.stop()
        self.sink.stop()


@pytest.fixture
def pipeline(moto_endpoint: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Pipeline]:
    p = Pipeline(moto_endpoint, kafka_bootstrap, tmp_path)
    yield p
    p.close()


def check_final_states(pipeline: Pipeline, *summaries: Any) -> None:
    """Every shipment's stored state and timeline equal the fold of all valid events produced for it."""
    table = pipeline.table("ShipmentsTable")
    timeline = pipeline.table("TimelineTable")
    events: dict[tuple[str, str], list[Any]] = {}
    for summary in summaries:
        for key in summary.shipments:
            events.setdefault(key, []).extend(summary.shipment_events(key))
    for (merchant, shipment), history in events.items():
        state = fold(history).state
        if state is None:
            continue
        item = table.get_item(Key={"merchant_id": merchant, "shipment_id": shipment}).get("Item")
        assert item is not None, f"{merchant}/{shipment} missing"
        assert (item["status"], item["status_event_id"], int(item["event_count"]), int(item["late_count"])) == (
            state.status.value, state.status_event_id, state.event_count, state.late_count), shipment
        entries = timeline.query(KeyConditionExpression=Key("entity").eq(f"{merchant}#S#{shipment}"))["Items"]
        assert sorted(e["event_id"] for e in entries) == sorted({e.event_id for e in history}), shipment


def test_simulated_traffic_lands_as_the_domain_model_says(pipeline: Pipeline) -> None:
    shares = NoiseShares(duplicates=0.05, late=0.05, poison=0.03)
    summary = pipeline.produce(600, seed=11, shares=shares)
    assert summary.duplicates > 0 and summary.late > 0 and summary.poison > 0

    # The consumer groups commit exactly to the log end: every record was resolved.
    eventually(lambda: _assert_equal(pipeline.committed(), dict(summary.per_topic)))
    eventually(lambda: check_final_states(pipeline, summary))

    # Each poison event is dead-lettered with a reason.
    def poison_dead_lettered() -> None:
        found = pipeline.dead_letter_hashes()
        missing = [p for p in summary.poison_events if p.sha256 not in found]
        assert not missing, missing
        assert all(found[p.sha256] for p in summary.poison_events)

    eventually(poison_dead_lettered)

    # Each real status change is notified exactly once: the signed webhooks received match the
    # status changes in the state stream one for one.
    def notified_once() -> None:
        expected = pipeline.stream_changes()
        assert expected and all(n == 1 for n in expected.values())
        assert pipeline.sink.ids == expected
        assert pipeline.sink.rejected == 0

    eventually(notified_once)


def test_restarting_the_mappings_loses_nothing_and_renotifies_nothing(pipeline: Pipeline) -> None:
    shares = NoiseShares(duplicates=0.05, late=0.05, poison=0.0)
    first = pipeline.produce(250, seed=21, shares=shares)
    eventually(lambda: _assert_positive(pipeline.platform.counters()["kafka_records_delivered"]), 60, 0.05)
    pipeline.platform.stop_mappings()  # mid-stream: some records are not processed yet
    delivered_before = len(pipeline.sink.deliveries)
    second = pipeline.produce(250, seed=22, shares=shares)
    pipeline.platform.start_mappings()

    totals = Counter(first.per_topic) + Counter(second.per_topic)
    eventually(lambda: _assert_equal(pipeline.committed(), dict(totals)))
    eventually(lambda: check_final_states(pipeline, first, second))

    def notified_once() -> None:
        expected = pipeline.stream_changes()
        assert pipeline.sink.ids == expected
        assert pipeline.sink.duplicates == 0

    eventually(notified_once)
    assert len(pipeline.sink.deliveries) > delivered_before


def _assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


def _assert_positive(value: int) -> None:
    assert value > 0
