"""What every end-to-end test checks, shared by tests/e2e/test_pipeline.py and the fault-injection tests.

The invariant of a fault test is "nothing was lost and nothing was sent twice":

* the mappings' consumer groups committed exactly the log end (read from the broker, not assumed), so every
  record was resolved;
* every shipment's state and timeline equal the domain fold of its valid events, and the timeline has no
  duplicate entry;
* every poison record is dead-lettered with a reason, and no batch went to an on-failure queue;
* every status change on the state table's stream reached the webhook receiver, once after deduplicating on
  the notification ``id`` (at-least-once delivery may show duplicates before deduplication: they are counted).

:class:`Pipeline` runs the platform in this process; :class:`Deployed` names what a platform deployed, so the
same checks run against a platform in another process. :class:`ControlledSink` is a webhook receiver that can
go down, get slow and come back; :class:`IngestCrashes` makes some ingest invocations crash half-way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from local_runtime.demo.merchants import seed_merchants, start_webhook_sink
from local_runtime.demo.webhook_sink import WebhookSink
from local_runtime.esm.dynamodb.events import build_stream_record
from local_runtime.runtime import LocalPlatform, PlatformOptions
from local_runtime.services import aws
from local_runtime.simulator.noise import OVERSIZED, NoiseShares
from local_runtime.simulator.producer import KafkaSink, Sink
from local_runtime.simulator.registry import registry_topics, with_registry
from local_runtime.simulator.run import simulate
from local_runtime.simulator.world import merchant_records
from logistics.adapters.codec import from_attributes
from logistics.domain.notifications import status_change
from logistics.domain.shipment import fold

ROOT = Path(__file__).resolve().parents[3]
TABLES = ("ShipmentsTable", "TimelineTable", "WarehousesTable", "DeadLetterTable", "NotificationsTable",
          "MerchantsTable")
FAILURE_QUEUES = ("IngestFailureQueue", "NotifyFailureQueue")


def eventually(check: Callable[[], Any], timeout_s: float = 90.0, every_s: float = 0.5) -> Any:
    """Retry an assertion until it holds (the pipeline is asynchronous).

    The first retries come quickly (the pipeline is often only a moment behind), then every ``every_s``.
    """
    deadline = time.monotonic() + timeout_s
    pause = min(0.05, every_s)
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, every_s)


def assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


def assert_positive(value: int) -> None:
    assert value > 0


# -- what a platform deployed ---------------------------------------------------------------------------


@dataclass
class Deployed:
    """Where a running platform keeps things: enough to check it from outside (another process included)."""

    region: str
    bootstrap: str
    aws_endpoint: str
    dynamodb_endpoint: str | None  # None: the AWS endpoint serves DynamoDB
    streams_endpoint: str | None
    topics: list[str]
    tables: dict[str, str]
    stream_arn: str
    groups: list[tuple[str, list[str]]]  # (consumer group, its topics) of each Kafka mapping
    queues: dict[str, str]  # logical id -> queue URL

    @classmethod
    def of(cls, platform: LocalPlatform) -> Deployed:
        template, deployment = platform.template, platform.deployment
        assert template is not None and deployment is not None and platform.dynamodb is not None
        mappings = template.event_source_mappings()
        # The kafka:// on-failure topics (the registry's refusals) are the platform's own, not the producers':
        # what they carry is checked as dead letters, not against what was produced.
        failure_topics = {spec.on_failure.target for spec in mappings
                          if spec.on_failure is not None and spec.on_failure.kind == "kafka"}
        groups = [(str(spec.consumer_group_id), list(spec.topics)) for spec in mappings
                  if spec.enabled and spec.kind in ("MSK", "SelfManagedKafka")
                  and not set(spec.topics) <= failure_topics]
        return cls(
            region=platform.region,
            bootstrap=platform.kafka.bootstrap_servers,
            aws_endpoint=platform.aws.endpoint_url,
            dynamodb_endpoint=platform.dynamodb.endpoint_url,
            streams_endpoint=platform.dynamodb.streams_endpoint_url,
            topics=sorted({t for _, topics in groups for t in topics}),
            tables={logical_id: template.physical_name(logical_id) for logical_id in TABLES},
            stream_arn=deployment.resources["ShipmentsTable"].attributes["StreamArn"],
            groups=groups,
            queues={q: deployment.resources[q].attributes["QueueUrl"] for q in FAILURE_QUEUES
                    if q in deployment.resources},
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Deployed:
        data = json.loads(text)
        data["groups"] = [(g, list(t)) for g, t in data["groups"]]
        return cls(**data)

    def client(self, service: str) -> Any:
        endpoint = {"dynamodb": self.dynamodb_endpoint, "dynamodbstreams": self.streams_endpoint}.get(service)
        return _client(service, endpoint or self.aws_endpoint, self.region)

    def table(self, logical_id: str) -> Any:
        return _dynamodb(self.dynamodb_endpoint or self.aws_endpoint, self.region).Table(self.tables[logical_id])


# Made once per endpoint: building a boto3 client loads its service model (about 0.4 s on a busy machine,
# more than the calls a check makes with it). boto3 clients may be shared between threads.
@cache
def _client(service: str, endpoint: str, region: str) -> Any:
    return aws.client(service, endpoint, region)


@cache
def _dynamodb(endpoint: str, region: str) -> Any:
    return boto3.resource("dynamodb", endpoint_url=endpoint, region_name=region, aws_access_key_id="testing",
                          aws_secret_access_key="testing")


# -- reading the outcome --------------------------------------------------------------------------------


def committed(d: Deployed) -> dict[str, int]:
    """Per topic, the sum of the offsets the mappings' consumer groups committed, read from the broker."""
    from confluent_kafka import Consumer, TopicPartition

    totals: Counter[str] = Counter()
    for group, topics in d.groups:
        reader = Consumer({"bootstrap.servers": d.bootstrap, "group.id": group, "enable.auto.commit": False,
                           "log_level": 0})
        try:
            for topic in topics:
                partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
                offsets = reader.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
                totals[topic] += sum(max(tp.offset, 0) for tp in offsets)
        finally:
            reader.close()
    return dict(totals)


def mappings_committed(pipeline: Pipeline, topics: Iterable[str]) -> dict[str, int]:
    """Per topic, the sum of the offsets the running Kafka mappings say they committed (their own record: on
    assignment each takes its group's committed offset, then what it commits)."""
    wanted = set(topics)
    totals: Counter[str] = Counter({t: 0 for t in wanted})
    for mapping in pipeline.platform.kafka_mappings:
        for key, offset in mapping.committed_offsets().items():
            topic, _, _partition = key.rpartition("-")
            if topic in wanted:
                totals[topic] += max(offset, 0)
    return dict(totals)


@dataclass
class LogReading:
    """What the topics hold, read from the broker."""

    ends: dict[str, int]  # per topic, the sum over partitions of (last offset + 1)
    records: int  # records read

    @property
    def gaps(self) -> int:
        """Offsets with no record (a batch the broker numbered but never stored)."""
        return sum(self.ends.values()) - self.records


def read_log(d: Deployed, idle_s: float = 2.0, timeout_s: float = 60.0, *, trust_ends: bool = True) -> LogReading:
    """Read every partition of the mappings' topics to its end.

    Read rather than asked: a producer retry may have appended a record twice, and Tansu's ListOffsets
    answers the base offset of the last batch + 1, not the offset after its last record. The high watermark
    of Tansu's Fetch answers is right, so the reader stops once every partition reported its end (librdkafka's
    partition EOF, emitted when a fetch finds nothing at the high watermark); a partition that never reports
    it (a numbered offset with no record before the end) ends the read after ``idle_s`` without a record.
    On a broker that keeps its log on S3 (the broker-restart test) fetches that short answer nothing: there
    ``trust_ends=False`` reads as before, with the default fetch wait, until ``idle_s`` passes without a record.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    config: dict[str, Any] = {"bootstrap.servers": d.bootstrap, "group.id": f"log-end-{uuid.uuid4().hex[:8]}",
                              "enable.auto.commit": False, "log_level": 0}
    if trust_ends:
        # fetch.wait.max.ms: the broker answers an empty fetch at once rather than after the default 500 ms, so
        # the fetch that reports the end comes without waiting.
        config.update({"enable.partition.eof": True, "fetch.wait.max.ms": 10})
    reader = Consumer(config)
    ends: dict[tuple[str, int], int] = {}
    seen: set[tuple[str, int, int]] = set()
    at_end: set[tuple[str, int]] = set()
    try:
        assignment = []
        for topic in d.topics:
            for p in reader.list_topics(topic, timeout=10).topics[topic].partitions:
                ends[(topic, p)] = 0
                assignment.append(TopicPartition(topic, p, OFFSET_BEGINNING))
        reader.assign(assignment)
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while (at_end != set(ends) and time.monotonic() - quiet_since < idle_s
               and time.monotonic() < deadline):
            messages = reader.consume(num_messages=1000, timeout=0.1)
            for m in messages:
                name, partition, offset = m.topic(), m.partition(), m.offset()
                if name is None or partition is None or offset is None:
                    continue
                error = m.error()
                if error is None:
                    ends[(name, partition)] = max(ends[(name, partition)], offset + 1)
                    seen.add((name, partition, offset))
                    at_end.discard((name, partition))  # more was appended after an end reported earlier
                    quiet_since = time.monotonic()
                elif error.code() == KafkaError._PARTITION_EOF:
                    at_end.add((name, partition))
    finally:
        reader.close()
    totals: Counter[str] = Counter()
    for (topic, _), end in ends.items():
        totals[topic] += end
    return LogReading({t: totals[t] for t in d.topics}, len(seen))


def log_end(d: Deployed) -> dict[str, int]:
    """Per topic, the sum over partitions of (last offset + 1), read from the broker (see :func:`read_log`)."""
    return read_log(d).ends


def stream_changes(d: Deployed) -> Counter[str]:
    """Every status change the state table's stream carries (read independently of the mapping)."""
    client = d.client("dynamodbstreams")
    arn = d.stream_arn
    changes: Counter[str] = Counter()
    for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = client.get_records(ShardIterator=iterator, Limit=1000)
            for raw in page["Records"]:
                record = build_stream_record(raw, region=d.region, stream_arn=arn)
                images = record["dynamodb"]
                change = status_change(from_attributes(images.get("OldImage") or {}) or None,
                                       from_attributes(images.get("NewImage") or {}))
                if change is not None:
                    changes[change.key] += 1
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return changes


def dead_letter_hashes(d: Deployed | Any) -> dict[str, str]:
    """sha256 of each dead-lettered value -> its reason."""
    table = d.table("DeadLetterTable")
    found: dict[str, str] = {}
    merchants = [m["merchant_id"] for m in merchant_records()] + ["_unattributed"]
    for merchant in merchants:
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("merchant_id").eq(merchant)}
        while True:
            page = table.query(**kwargs)
            for item in page["Items"]:
                if item.get("value_truncated"):
                    # An oversized value keeps only a prefix, its length and its sha256 (a small item).
                    prefix = base64.b64decode(item["value_prefix_b64"])
                    assert len(prefix) <= 256 < int(item["value_bytes"]) and "value_b64" not in item
                    found[str(item["value_sha256"])] = item["reason"]
                    continue
                raw = base64.b64decode(item["value_b64"]) if item.get("value_b64") else b""
                found[hashlib.sha256(raw).hexdigest()] = item["reason"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return found


def queue_depths(d: Deployed) -> dict[str, int]:
    """Messages in each on-failure queue (visible and in flight)."""
    sqs = d.client("sqs")
    depths = {}
    for logical_id, url in d.queues.items():
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        depths[logical_id] = sum(int(v) for v in attrs["Attributes"].values())
    return depths


def check_final_states(target: Any, *summaries: Any) -> None:
    """Every shipment's stored state and timeline equal the fold of all valid events produced for it (the
    timeline compared as a sorted list against the set of event ids: a duplicate entry fails)."""
    table = target.table("ShipmentsTable")
    timeline = target.table("TimelineTable")
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
        entries: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("entity").eq(f"{merchant}#S#{shipment}")}
        while True:
            page = timeline.query(**kwargs)
            entries.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        assert sorted(e["event_id"] for e in entries) == sorted({e.event_id for e in history}), shipment


# -- the platform in this process -----------------------------------------------------------------------


class Pipeline:
    """The platform on the session's (or given) services, with merchants whose webhooks go to ``sink``."""

    def __init__(self, moto_endpoint: str, kafka_bootstrap: str, state_dir: Path, *, sink: Any = None,
                 suffix: str | None = None, **options: Any) -> None:
        suffix = suffix or uuid.uuid4().hex[:6]
        self.topics = (f"shipment-events-{suffix}", f"warehouse-events-{suffix}")
        self.sink = sink if sink is not None else start_webhook_sink()
        settings: dict[str, Any] = {
            "template": ROOT / "template.yaml",
            "stack_name": f"e2e-{suffix}",
            # Plain JSON producers unless a test turns the registry on (then its refusals go to a topic of
            # this stack's own, and the stack's registry is deleted at close: moto allows 10 per account).
            "parameter_overrides": {"ShipmentTopic": self.topics[0], "WarehouseTopic": self.topics[1],
                                    "IngestConsumerGroupId": f"ingest-{suffix}", "KafkaSchemaRegistry": "Disabled",
                                    "IngestFailureTopic": f"ingest-failures-{suffix}",
                                    **options.pop("parameter_overrides", {})},
            "delete_registries_on_stop": True,
            "dashboard_port": None,
            "state_dir": state_dir,
            "aws_endpoint": moto_endpoint,
            "kafka_bootstrap": kafka_bootstrap,
            "consumer_config": {"session.timeout.ms": 6000},
            **options,
        }
        self.platform = LocalPlatform(PlatformOptions(**settings))
        try:
            self.platform.start()
            seed_merchants(self.platform, self.sink)
        except BaseException:
            self.platform.stop()
            raise
        self.deployed = Deployed.of(self.platform)
        self.resource = boto3.resource("dynamodb", endpoint_url=aws.service_endpoint("dynamodb", moto_endpoint),
                                       region_name=self.platform.region,
                                       aws_access_key_id="testing", aws_secret_access_key="testing")

    def table(self, logical_id: str) -> Any:
        assert self.platform.template is not None
        return self.resource.Table(self.platform.template.physical_name(logical_id))

    @property
    def registry(self) -> bool:
        """Whether the stack's ingest mappings validate with the schema registry (producers then frame)."""
        return self.platform.template is not None and registry_topics(self.platform.template) is not None

    def producer(self) -> Sink:
        """A producer as the platform's own simulator makes one: framing with the stack's registry when its
        mappings declare one (values the registry refuses are sent raw, as a rogue producer would)."""
        assert self.platform.template is not None
        return with_registry(KafkaSink(self.platform.kafka.bootstrap_servers), self.platform.template,
                             self.platform.client("glue"))

    def produce(self, count: int, seed: int, shares: NoiseShares, rate: float | None = None, **kwargs: Any) -> Any:
        if self.registry:
            # A registry producer re-encodes each value, so an oversized value that is only whitespace-padded
            # (one variant of that poison kind) arrives compact and valid: not poison on this path.
            shares = replace(shares, poison_kinds=tuple(k for k in shares.poison_kinds if k[0] != OVERSIZED))
        return simulate(self.producer(), rate=rate, count=count, seed=seed, shares=shares,
                        topics=self.topics, progress=False, **kwargs)

    def committed(self) -> dict[str, int]:
        return committed(self.deployed)

    def stream_changes(self) -> Counter[str]:
        return stream_changes(self.deployed)

    def dead_letter_hashes(self) -> dict[str, str]:
        return dead_letter_hashes(self)

    def mapping_counters(self) -> dict[str, int]:
        """Counters summed over the running mappings, by kind: ``kafka_retries``, ``stream_function_errors``..."""
        totals: Counter[str] = Counter()
        for kind, mappings in (("kafka", self.platform.kafka_mappings), ("stream", self.platform.stream_mappings)):
            for mapping in mappings:
                for key, value in mapping.counters.snapshot().items():
                    if isinstance(value, int) and key not in ("lag", "last_invoke_at"):
                        totals[f"{kind}_{key}"] += value
        return dict(totals)

    def close(self) -> None:
        try:
            self.platform.stop()
        finally:
            self.sink.stop()


# -- the invariant --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Figures of a checked run, for the test's report."""

    produced: int = 0
    valid: int = 0
    duplicates_produced: int = 0
    late: int = 0
    poison: int = 0
    log_records: int = 0
    log_appended_twice: int = 0  # records a producer retry appended again
    log_gaps: int = 0  # offsets without a record
    status_changes: int = 0
    webhooks_received: int = 0
    webhook_duplicates: int = 0  # received again before deduplication on id (at-least-once)
    lost: int = 0
    duplicates_after_dedup: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def report(self, name: str) -> str:
        line = f"[{name}] " + ", ".join(f"{k}={v}" for k, v in asdict(self).items() if k != "extra")
        if self.extra:
            line += " | " + ", ".join(f"{k}={v}" for k, v in self.extra.items())
        return line


def assert_nothing_lost_nothing_twice(target: Pipeline | Deployed, sink: Any, summaries: Iterable[Any], *,
                                      timeout_s: float = 180.0, name: str = "", sent: int | None = None,
                                      require_changes: bool = True) -> Outcome:
    """Wait (generously) for the pipeline to settle, then check the invariant; returns the figures.

    ``sent``: how many messages were sent in all, when some were sent besides the summaries' (replays).
    ``require_changes``: fail when the stream carries no status change at all (a run too small to notify).
    """
    d = target.deployed if isinstance(target, Pipeline) else target
    summaries = list(summaries)
    produced: Counter[str] = Counter()
    for s in summaries:
        produced.update(s.per_topic)
        assert not s.undelivered and not s.delivery_failed, "the producer itself lost messages"
    total_sent = sum(produced.values()) if sent is None else sent
    log = read_log(d)
    if log.records < total_sent or any(log.ends.get(t, 0) < produced.get(t, 0) for t in d.topics):
        log = read_log(d, trust_ends=False)  # less than was sent: ends reported too early, read as before
    ends = log.ends
    for topic in d.topics:  # a producer retry may append twice, never less
        assert ends.get(topic, 0) >= produced.get(topic, 0), (topic, ends, dict(produced))
    assert log.records >= total_sent, f"the log holds {log.records} records, {total_sent} were sent"

    # Every record resolved: the consumer groups committed exactly the log end.
    if isinstance(target, Pipeline):
        # In this process, first wait on the mappings' own record of what they committed, then ask the broker
        # once they are done: asking the broker for a group's offsets while the group was still working (in
        # its first seconds, rebalancing as pollers join) has been seen to stall a mapping for good.
        eventually(lambda: assert_equal(mappings_committed(target, d.topics), ends), timeout_s)
    eventually(lambda: assert_equal(committed(d), ends), timeout_s)
    # Every valid event stored, states as the fold says, timelines without duplicates.
    eventually(lambda: check_final_states(d, *summaries), timeout_s)

    poison = [p for s in summaries for p in s.poison_events]

    def poison_dead_lettered() -> None:
        found = dead_letter_hashes(d)
        missing = [p for p in poison if p.sha256 not in found]
        assert not missing, missing
        assert all(found[p.sha256] for p in poison), "a dead letter without a reason"

    if poison:
        eventually(poison_dead_lettered, timeout_s)

    # Every status change reached the receiver, once after deduplicating on the notification id.
    def notified_once() -> Counter[str]:
        expected = stream_changes(d)
        assert expected or not require_changes, "no status change on the stream"
        assert all(n == 1 for n in expected.values()), "a status change written twice to the state"
        received = Counter(sink.ids)
        assert set(received) == set(expected), (
            f"missing {len(set(expected) - set(received))}, unexpected {len(set(received) - set(expected))}")
        assert sink.rejected == 0
        return expected

    expected = eventually(notified_once, timeout_s)  # the stream as the check last read it
    assert queue_depths(d) == {q: 0 for q in d.queues}, "a batch went to an on-failure queue"

    received = Counter(sink.ids)
    outcome = Outcome(
        produced=sum(s.produced for s in summaries),
        valid=sum(s.valid for s in summaries),
        duplicates_produced=sum(s.duplicates for s in summaries),
        late=sum(s.late for s in summaries),
        poison=len(poison),
        log_records=log.records,
        log_appended_twice=log.records - total_sent,  # more records than sent: a producer retry's
        log_gaps=log.gaps,
        status_changes=len(expected),
        webhooks_received=sum(received.values()),
        webhook_duplicates=sum(n - 1 for n in received.values() if n > 1),
        lost=len(set(expected) - set(received)),
        duplicates_after_dedup=0,  # deduplicated on id, each id counts once: asserted by the set equality
    )
    if name:
        print(outcome.report(name))
    return outcome


# -- faults ---------------------------------------------------------------------------------------------


class ControlledSink:
    """The signature-verifying webhook receiver, controllable: :meth:`down` closes its socket (connections are
    refused), ``delay_s`` holds each response after the delivery is recorded (a slow receiver: the sender
    times out although the receiver got it), :meth:`up` listens again on the same port."""

    def __init__(self) -> None:
        self.secrets = {m["merchant_id"]: m["webhook_secret"] for m in merchant_records()}
        self.ids: Counter[str] = Counter()
        self.deliveries: list[dict[str, Any]] = []
        self.delay_s = 0.0
        self.delayed = 0  # responses held back
        self._lock = threading.Lock()
        self._rejected_before = 0
        self._sink: WebhookSink | None = self._listen(0)
        self.port = self._sink.server.server_address[1]
        self.base_url = self._sink.base_url

    def _listen(self, port: int) -> WebhookSink:
        sink = WebhookSink(self.secrets, port=port, on_delivery=self._received)
        # A held-back answer finds the sender gone (it timed out): not worth a traceback.
        sink.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        return sink.start()

    def _received(self, payload: dict[str, Any]) -> None:
        with self._lock:
            self.ids[payload.get("id", "")] += 1
            self.deliveries.append(payload)
        delay = self.delay_s
        if delay > 0:
            with self._lock:
                self.delayed += 1
            time.sleep(delay)

    def url_for(self, merchant_id: str) -> str:
        return f"{self.base_url}/{merchant_id}"

    def down(self) -> None:
        if self._sink is not None:
            self._rejected_before += self._sink.rejected
            self._sink.stop()
            self._sink = None

    def up(self) -> None:
        if self._sink is None:
            self._sink = self._listen(self.port)

    @property
    def rejected(self) -> int:
        return self._rejected_before + (self._sink.rejected if self._sink else 0)

    @property
    def duplicates(self) -> int:
        with self._lock:
            return sum(n - 1 for n in self.ids.values() if n > 1)

    def stop(self) -> None:
        self.down()


INJECTOR = Path(__file__).with_name("injector")


class IngestCrashes:
    """Some IngestFunction invocations crash after part of their writes, so the mapping retries the batch.

    The crash happens inside the function's worker process: the function runs through Lambda's exec wrapper
    ``injector/exec_wrapper``, which loads ``injector/sitecustomize.py`` (see there). Give the platform
    :meth:`environment` for the function when creating it.

    Every ``every``-th invocation (counted at the platform's invoker) arms one crash, at most ``limit`` in all;
    the next state save with something to write takes it: alternately it raises after the timeline write and
    before any state write, or after writing the first half of the batch's entities. The handler fails as a
    whole (a function error), so the mapping bisects and retries; at most one crash is armed per ``every``
    invocations, so no record reaches ``MaximumRetryAttempts``. ``every=0``: only :meth:`arm` arms crashes.
    """

    def __init__(self, platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch, fault_dir: Path, *,
                 every: int = 3, limit: int = 10, function: str = "IngestFunction") -> None:
        self.every = every
        self.limit = limit
        self.invocations = 0
        self.dir = fault_dir
        self._lock = threading.Lock()
        assert platform.invoker is not None
        invoker = platform.invoker
        assert invoker.function(function).environment.get("FAULT_INJECTION_DIR") == str(fault_dir), \
            "create the platform with function_env={function: IngestCrashes.environment(fault_dir)}"
        original_invoke = invoker.invoke
        crashes = self

        def invoke(name: str, event: Any, *, request_id: str | None = None) -> Any:
            if invoker.function(name).spec.logical_id == function:
                with crashes._lock:
                    crashes.invocations += 1
                    if crashes.every and crashes.invocations % crashes.every == 0 \
                            and crashes.total + crashes.armed < crashes.limit:
                        crashes.arm(1)
            return original_invoke(name, event, request_id=request_id)

        monkeypatch.setattr(invoker, "invoke", invoke)

    @classmethod
    def pipeline(cls, moto_endpoint: str, kafka_bootstrap: str, state_dir: Path, monkeypatch: pytest.MonkeyPatch,
                 **crash_options: Any) -> tuple[Pipeline, IngestCrashes]:
        """A :class:`Pipeline` whose IngestFunction runs through the injector, and its crashes (the function's
        environment must be set when the platform is created, the crashes wrap its invoker after)."""
        faults = state_dir / "faults"
        pipeline = Pipeline(moto_endpoint, kafka_bootstrap, state_dir,
                            function_env={"IngestFunction": cls.environment(faults)})
        try:
            return pipeline, cls(pipeline.platform, monkeypatch, faults, **crash_options)
        except BaseException:
            pipeline.close()
            raise

    @staticmethod
    def environment(fault_dir: Path) -> dict[str, str]:
        """The function's extra variables that run it through the crash injector, armed from ``fault_dir``."""
        for sub in ("armed", "taken", "crashes"):
            (fault_dir / sub).mkdir(parents=True, exist_ok=True)
        return {"AWS_LAMBDA_EXEC_WRAPPER": str(INJECTOR / "exec_wrapper"), "FAULT_INJECTION_DIR": str(fault_dir)}

    def arm(self, count: int) -> None:
        """Crash the next ``count`` saves that have something to write."""
        for _ in range(count):
            (self.dir / "armed" / uuid.uuid4().hex).touch()

    @property
    def armed(self) -> int:
        return sum(1 for _ in (self.dir / "armed").iterdir())

    @property
    def crashes(self) -> Counter[str]:
        """Crashes that happened, by kind (after_timeline, after_half_of_the_states)."""
        return Counter(path.name.partition(".")[0] for path in (self.dir / "crashes").iterdir())

    @property
    def total(self) -> int:
        return sum(self.crashes.values())
