"""Local emulation of a Lambda Kafka event-source mapping (Amazon MSK or self-managed Apache Kafka).

A confluent-kafka group consumer feeds batches to an in-process ``invoke(event)`` callable with AWS's
semantics (DESIGN.md section 2):

* batches close at ``BatchSize`` records, after ``MaximumBatchingWindowInSeconds`` counted from the first
  buffered record, or before the event would pass 6 MB; one payload may hold several partitions, each
  partition's records in offset order;
* ``FilterCriteria`` apply to the record with ``value`` parsed as JSON; filtered records are committed and
  never invoked; a value that is not JSON never matches a pattern on ``value``;
* offsets are committed only after records are resolved (processed, filtered, or sent to the on-failure
  destination); the committed offset of a partition is always its first unresolved offset;
* ``ReportBatchItemFailures``: per partition the records before the lowest failed offset are committed and
  the batch is retried from there; an invalid response fails the whole batch;
* a function error (any exception from ``invoke``) retries the whole batch, halving it first when
  ``BisectBatchOnFunctionError`` is set; ``MaximumRetryAttempts`` (-1 = infinite, capped at 10 when a
  destination is configured), ``MaximumRecordAgeInSeconds`` and ``DestinationConfig.OnFailure``
  (SQS / SNS / S3 / ``kafka://topic``) apply as on AWS;
* ordering: while a batch is being retried nothing else is invoked, so no later record of a partition
  runs before an earlier failing one is resolved (this blocks all partitions of the mapping, which is
  stricter than AWS but never weaker).

Retried records are kept in memory instead of being re-fetched with ``seek``: the effect is the same
(retry starts exactly at the lowest unresolved offset) and the committed offset never moves past them,
so a restart re-delivers them from Kafka.

Two ways to drive it: ``start()``/``stop()`` runs the poll loop in a thread; ``poll_once()`` and
``run_until_idle()`` run it synchronously for deterministic tests. This module also holds what the
DynamoDB Streams mapping shares: :class:`BatchExecutor` (retry, bisect, age, partial responses, disposal),
:class:`MappingCounters`, :class:`OnFailureSender` and partial-response parsing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from local_runtime.esm.filtering import EventFilter
from local_runtime.esm.kafka.events import (
    CONDITION_PAYLOAD_TOO_LARGE,
    CONDITION_RECORD_AGE_EXCEEDED,
    CONDITION_RETRIES_EXHAUSTED,
    MAX_PAYLOAD_BYTES,
    KafkaMessage,
    build_kafka_event,
    build_kafka_on_failure_record,
    build_kafka_record,
    event_payload_size,
    message_from_confluent,
    partition_key,
)
from local_runtime.esm.spec import MappingSpec, OnFailureDestination
from local_runtime.esm.poll_loop import PollLoop

__all__ = [
    "BatchExecutor",
    "KafkaEventSourceMapping",
    "MalformedBatchResponse",
    "MappingCounters",
    "OnFailureSender",
    "Work",
    "batch_item_identifiers",
    "effective_max_retries",
    "mapping_uuid",
]

log = logging.getLogger(__name__)

# With infinite retries and an on-failure destination AWS caps Kafka retries at 10 (DESIGN.md 2).
INFINITE_RETRY_CAP_WITH_DESTINATION = 10
# Lambda's account in moto; only used to make a default function ARN when none is given.
_DEFAULT_ACCOUNT = "123456789012"


# --------------------------------------------------------------------------------------------------
# Shared by both mappings
# --------------------------------------------------------------------------------------------------


@dataclass
class MappingCounters:
    """Counters for a status display. Plain ints, updated by the polling thread only."""

    invocations: int = 0  # calls of the function
    records_invoked: int = 0  # records handed to the function (a retried record counts again)
    records_delivered: int = 0  # records resolved as processed successfully
    failures: int = 0  # failed invocations (function error, partial or malformed response)
    function_errors: int = 0  # invocations that raised
    partial_failures: int = 0  # invocations answered with a valid non-empty batchItemFailures
    retries: int = 0  # re-invocations of a failed batch (bisected halves not counted)
    records_filtered: int = 0  # dropped by FilterCriteria (committed, never invoked)
    records_dead_lettered: int = 0  # sent to the OnFailure destination
    records_discarded: int = 0  # given up without a destination configured
    destination_errors: int = 0  # failed attempts to write to the destination (retried)
    lag: int = 0  # records behind the end of the source (best effort)
    last_error: str | None = None
    last_invoke_at: float | None = None  # epoch seconds

    def snapshot(self) -> dict[str, Any]:
        """A copy as a plain dict (safe to serialise)."""
        return asdict(self)


class MalformedBatchResponse(ValueError):
    """A partial batch response AWS would reject: the whole batch counts as failed."""


def batch_item_identifiers(response: Any) -> list[Any]:
    """The ``itemIdentifier`` values of a partial batch response, in order.

    Success (empty list): ``None``, a response that is not an object, an object without
    ``batchItemFailures``, or a null/empty ``batchItemFailures``. Raises :class:`MalformedBatchResponse`
    when ``batchItemFailures`` is not a list or an entry lacks a non-empty ``itemIdentifier``.
    A JSON string response is parsed first (a handler may return the serialised document).
    """
    if isinstance(response, bytes | bytearray):
        response = response.decode("utf-8", "replace")
    if isinstance(response, str):
        try:
            response = json.loads(response)
        except ValueError:
            return []
    if not isinstance(response, Mapping):
        return []
    failures = response.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        raise MalformedBatchResponse(f"batchItemFailures is not a list: {failures!r}")
    ids = []
    for entry in failures:
        if not isinstance(entry, Mapping) or "itemIdentifier" not in entry:
            raise MalformedBatchResponse(f"entry without itemIdentifier: {entry!r}")
        ident = entry["itemIdentifier"]
        if ident is None or ident == "" or ident == {}:
            raise MalformedBatchResponse(f"empty itemIdentifier: {entry!r}")
        ids.append(ident)
    return ids


def effective_max_retries(spec: MappingSpec, *, cap_infinite_with_destination: bool) -> int:
    """``MaximumRetryAttempts`` as enforced: -1 means infinite unless capped (Kafka + destination)."""
    if spec.maximum_retry_attempts < 0:
        if cap_infinite_with_destination and spec.on_failure is not None:
            return INFINITE_RETRY_CAP_WITH_DESTINATION
        return -1
    return spec.maximum_retry_attempts


def mapping_uuid(spec: MappingSpec) -> str:
    """A stable UUID for a mapping (AWS gives each ESM a UUID; Kafka uses it as the default group id).

    Derived from the function and event names so a restarted local stack finds its old offsets.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"local-esm:{spec.function_logical_id}:{spec.name}"))


def _arn_parts(arn: str) -> list[str]:
    return arn.split(":", 5)


class OnFailureSender:
    """Writes on-failure records to ``DestinationConfig.OnFailure`` (SQS, SNS, S3 or a Kafka topic).

    Raises whatever the client raises: callers keep the records unresolved and retry later, so a
    destination outage never loses records.
    """

    def __init__(
        self,
        destination: OnFailureDestination | None,
        *,
        mapping_id: str,
        sqs_client: Any = None,
        sns_client: Any = None,
        s3_client: Any = None,
        kafka_producer_factory: Callable[[], Any] | None = None,
    ) -> None:
        """``kafka_producer_factory`` makes a confluent ``Producer`` for ``kafka://`` destinations."""
        self.destination = destination
        self.mapping_id = mapping_id
        self._sqs, self._sns, self._s3 = sqs_client, sns_client, s3_client
        self._producer_factory = kafka_producer_factory
        self._producer: Any = None
        self._queue_url: str | None = None
        if destination is not None:
            needed = {"sqs": sqs_client, "sns": sns_client, "s3": s3_client, "kafka": kafka_producer_factory}
            if needed[destination.kind] is None:
                raise ValueError(f"OnFailure destination {destination.kind} needs its client")

    @property
    def configured(self) -> bool:
        """True when a destination is configured."""
        return self.destination is not None

    @property
    def include_payload(self) -> bool:
        """AWS adds the invocation payload for S3 and Kafka destinations only."""
        return self.destination is not None and self.destination.kind in ("s3", "kafka")

    def _sqs_url(self) -> str:
        if self._queue_url is None:
            assert self.destination is not None
            target = self.destination.target
            if target.startswith(("http://", "https://")):
                self._queue_url = target
            else:
                parts = _arn_parts(target)
                name, account = parts[5], parts[4]
                kwargs: dict[str, Any] = {"QueueName": name}
                if account:
                    kwargs["QueueOwnerAWSAccountId"] = account
                self._queue_url = self._sqs.get_queue_url(**kwargs)["QueueUrl"]
        return self._queue_url

    def send(self, document: Mapping[str, Any], *, source_part: str) -> None:
        """Deliver one on-failure ``document``; ``source_part`` (partition or shard id) goes in S3 keys."""
        if self.destination is None:
            return
        body = json.dumps(document, separators=(",", ":"))
        kind = self.destination.kind
        if kind == "sqs":
            self._sqs.send_message(QueueUrl=self._sqs_url(), MessageBody=body)
        elif kind == "sns":
            self._sns.publish(TopicArn=self.destination.target, Message=body)
        elif kind == "s3":
            bucket = self.destination.target
            if bucket.startswith("arn:"):
                bucket = _arn_parts(bucket)[5]
            now = datetime.now(UTC)
            # AWS's object key layout for ESM on-failure records.
            key = f"aws/lambda/{self.mapping_id}/{source_part}/{now:%Y/%m/%d}/{now:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
            self._s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
        elif kind == "kafka":
            if self._producer is None:
                assert self._producer_factory is not None
                self._producer = self._producer_factory()
            errors: list[Any] = []

            def _report(err: Any, _msg: Any) -> None:
                if err is not None:
                    errors.append(err)

            topic = self.destination.target.removeprefix("kafka://")
            self._producer.produce(topic, value=body.encode("utf-8"), on_delivery=_report)
            remaining = self._producer.flush(10)
            if errors or remaining:
                raise RuntimeError(f"kafka destination {topic}: {errors or 'delivery timed out'}")
        else:  # pragma: no cover - MappingSpec restricts kinds
            raise ValueError(f"unknown destination kind {kind}")

    def close(self) -> None:
        """Flush a Kafka producer if one was made."""
        if self._producer is not None:
            self._producer.flush(5)
            self._producer = None


@dataclass(eq=False)
class Work:
    """A batch being invoked or retried. ``records`` are objects with a ``resolved`` flag."""

    records: list[Any]
    failures: int = 0  # failed invocations counted towards MaximumRetryAttempts
    invocations: int = 0  # invocations of this batch (and of the batch it was bisected from)
    last_request_id: str | None = None
    # Set when the batch must go to the destination: kept so a failed write is retried alone.
    disposal: tuple[str, int, str | None] | None = None  # (condition, statusCode, functionError)


class BatchExecutor:
    """AWS's error handling for stream-style mappings (Kafka and DynamoDB Streams), in one place.

    :meth:`step` advances the head of a work queue by one invocation: record age check, payload size
    check, invoke, then success / partial failure / function error with bisect, retry quota and
    on-failure disposal. The mapping supplies how to build the event, which records a partial batch
    response leaves to retry, a record's timestamp, and how to dispose of records (destination or
    discard; it must mark them resolved and may raise when the destination is down).
    """

    def __init__(
        self,
        *,
        name: str,
        spec: MappingSpec,
        invoke: Callable[[dict[str, Any]], Any],
        counters: MappingCounters,
        max_retries: int,
        build_event: Callable[[list[Any]], dict[str, Any]],
        remaining_after_partial: Callable[[Any, list[Any]], list[Any]],
        record_time_ms: Callable[[Any], float | None],
        dispose: Callable[..., None],
        stop: threading.Event,
        backoff: tuple[float, float],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """See the class docstring; ``backoff`` is (first delay, maximum delay) in seconds."""
        self.name = name
        self.spec = spec
        self.counters = counters
        self.max_retries = max_retries
        self._invoke = invoke
        self._build_event = build_event
        self._remaining_after_partial = remaining_after_partial
        self._record_time_ms = record_time_ms
        self._dispose = dispose
        self._stop = stop
        self._backoff = backoff
        self._clock = clock

    def sleep_backoff(self, failures: int) -> None:
        """Wait before a retry (exponential, capped); returns early when the mapping stops."""
        base, cap = self._backoff
        delay = min(base * (2 ** max(0, failures - 1)), cap)
        if delay > 0:
            self._stop.wait(delay)

    def _try_dispose(self, records: list[Any], work: Work, condition: str, status: int, ferr: str | None) -> bool:
        # A destination error leaves the records unresolved (retried after a backoff): AWS does not
        # drop records because the destination is down.
        try:
            self._dispose(
                records,
                condition=condition,
                invoke_count=work.invocations,
                status_code=status,
                function_error=ferr,
                request_id=work.last_request_id,
            )
        except Exception as exc:
            self.counters.destination_errors += 1
            self.counters.last_error = f"on-failure destination: {type(exc).__name__}: {exc}"
            log.warning("%s: %s", self.name, self.counters.last_error)
            self.sleep_backoff(self.counters.destination_errors)
            return False
        return True

    @staticmethod
    def _split(queue: deque[Work], work: Work) -> None:
        half = len(work.records) // 2
        queue.popleft()
        queue.extendleft(
            [
                Work(work.records[half:], work.failures, invocations=work.invocations),
                Work(work.records[:half], work.failures, invocations=work.invocations),
            ]
        )

    def step(self, queue: deque[Work]) -> None:
        """Advance ``queue[0]`` by one invocation (or one disposal); pops it once it is resolved."""
        work = queue[0]
        if work.disposal is not None:
            if self._try_dispose(work.records, work, *work.disposal):
                queue.popleft()
            return

        if self.spec.maximum_record_age_s >= 0:
            limit_ms = (self._clock() - self.spec.maximum_record_age_s) * 1000
            expired = []
            for r in work.records:
                t = self._record_time_ms(r)
                if t is not None and 0 <= t < limit_ms:
                    expired.append(r)
            if expired:
                if not self._try_dispose(expired, work, CONDITION_RECORD_AGE_EXCEEDED, 200, None):
                    return
                work.records = [r for r in work.records if not r.resolved]
                if not work.records:
                    queue.popleft()
                    return

        event = self._build_event(work.records)
        if event_payload_size(event) > MAX_PAYLOAD_BYTES:
            if len(work.records) > 1:
                self._split(queue, work)
                return
            # One record larger than Lambda's payload limit can never be invoked.
            work.disposal = (CONDITION_PAYLOAD_TOO_LARGE, 413, None)
            self.step(queue)
            return

        work.last_request_id = str(uuid.uuid4())
        work.invocations += 1
        self.counters.invocations += 1
        self.counters.records_invoked += len(work.records)
        self.counters.last_invoke_at = self._clock()
        error: BaseException | None = None
        remaining: list[Any] = []
        try:
            # A fresh JSON document per invocation, as Lambda sends: the handler may mutate its event
            # (Powertools' parser does, turning header lists into bytes) without touching our copy.
            response = self._invoke(json.loads(json.dumps(event)))
        except Exception as exc:
            error = exc
        else:
            if self.spec.report_batch_item_failures:
                try:
                    remaining = self._remaining_after_partial(response, work.records)
                except MalformedBatchResponse as exc:
                    error = exc

        if error is None and not remaining:
            for r in work.records:
                r.resolved = True
            self.counters.records_delivered += len(work.records)
            queue.popleft()
            return

        self.counters.failures += 1
        function_error: str | None = None
        if error is None:
            # Partial failure: what precedes the failed records is done (committed / checkpointed).
            self.counters.partial_failures += 1
            keep = {id(r) for r in remaining}
            done = [r for r in work.records if id(r) not in keep]
            for r in done:
                r.resolved = True
            self.counters.records_delivered += len(done)
            work.records = list(remaining)
            self.counters.last_error = f"partial batch failure: {len(remaining)} record(s) to retry"
        else:
            is_function_error = not isinstance(error, MalformedBatchResponse)
            if is_function_error:
                self.counters.function_errors += 1
                function_error = "Unhandled"
            self.counters.last_error = f"{type(error).__name__}: {error}"
            log.info("%s: batch of %d failed: %s", self.name, len(work.records), self.counters.last_error)
            if is_function_error and self.spec.bisect_batch_on_function_error and len(work.records) > 1:
                # Splitting does not count towards the retry quota (AWS).
                self._split(queue, work)
                return

        work.failures += 1
        if 0 <= self.max_retries < work.failures:
            work.disposal = (CONDITION_RETRIES_EXHAUSTED, 200, function_error)
            self.step(queue)
            return
        self.counters.retries += 1
        self.sleep_backoff(work.failures)


# --------------------------------------------------------------------------------------------------
# Kafka mapping
# --------------------------------------------------------------------------------------------------

TP = tuple[str, int]


@dataclass(eq=False)
class _Pending:
    """One consumed record waiting to be resolved."""

    msg: KafkaMessage
    record: dict[str, Any]
    size: int  # conservative contribution to the event's JSON size
    arrived: float  # monotonic time it was consumed (starts the batching window)
    resolved: bool = False

    @property
    def tp(self) -> TP:
        return (self.msg.topic, self.msg.partition)

    @property
    def key(self) -> str:
        return partition_key(self.msg.topic, self.msg.partition)


class KafkaEventSourceMapping(PollLoop):
    """Emulates one ``MSK`` / ``SelfManagedKafka`` event-source mapping of one function."""

    thread_prefix = "esm-kafka"

    def __init__(
        self,
        spec: MappingSpec,
        invoke: Callable[[dict[str, Any]], Any],
        bootstrap_servers: str | Sequence[str] | None = None,
        function_arn: str | None = None,
        *,
        sqs_client: Any = None,
        sns_client: Any = None,
        s3_client: Any = None,
        consumer_config: Mapping[str, Any] | None = None,
        retry_backoff_s: float = 0.2,
        max_retry_backoff_s: float = 5.0,
        poll_timeout_s: float = 0.2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Configure the mapping; nothing connects until ``start()`` or ``poll_once()``.

        ``bootstrap_servers`` is where the local broker really is (it overrides the template's
        ``KafkaBootstrapServers``, which may name hosts that exist only on AWS); it is also what the
        event's ``bootstrapServers`` reports. ``invoke`` returns the handler's response; any exception it
        raises is a function error. ``consumer_config`` overrides librdkafka settings (tests lower
        ``session.timeout.ms`` to join faster). ``retry_backoff_s`` is the first delay between retries of
        a failed batch, doubled each time up to ``max_retry_backoff_s``. ``clock`` (epoch seconds) is used
        for record ages.
        """
        if spec.kind not in ("MSK", "SelfManagedKafka"):
            raise ValueError(f"{spec.name}: not a Kafka mapping ({spec.kind})")
        if not spec.topics:
            raise ValueError(f"{spec.name}: no topics")
        servers = bootstrap_servers if bootstrap_servers is not None else spec.bootstrap_servers
        if isinstance(servers, str):
            servers = [s.strip() for s in servers.split(",") if s.strip()]
        if not servers:
            raise ValueError(f"{spec.name}: no bootstrap servers")
        if spec.kind == "MSK" and not spec.cluster_arn:
            raise ValueError(f"{spec.name}: MSK mapping without cluster ARN")
        self.spec = spec
        self.name = spec.name
        self.bootstrap_servers: list[str] = list(servers)
        self.uuid = mapping_uuid(spec)
        self.group_id = spec.consumer_group_id or self.uuid
        region = _arn_parts(spec.cluster_arn)[3] if spec.cluster_arn else "us-east-1"
        self.function_arn = function_arn or (
            f"arn:aws:lambda:{region}:{_DEFAULT_ACCOUNT}:function:{spec.function_logical_id}"
        )
        self.counters = MappingCounters()
        self._clock = clock
        self._poll_timeout = poll_timeout_s
        self._consumer_overrides = dict(consumer_config or {})
        self._max_retries = effective_max_retries(spec, cap_infinite_with_destination=True)
        self._window = max(0.0, float(spec.maximum_batching_window_s))
        self._batch_size = max(1, int(spec.batch_size))
        self._filter = EventFilter(spec.filter_patterns)
        # A non-JSON value must never match a pattern on `value`: such records are checked against the
        # patterns that do not mention `value` only.
        self._filter_without_value = EventFilter(p for p in spec.filter_patterns if "value" not in p)
        self._sender = OnFailureSender(
            spec.on_failure,
            mapping_id=self.uuid,
            sqs_client=sqs_client,
            sns_client=sns_client,
            s3_client=s3_client,
            kafka_producer_factory=self._make_producer,
        )
        # Event overhead besides records (source, ARN, servers), padded for the partition keys' JSON.
        self._base_size = 256 + len(spec.cluster_arn or "") + len(",".join(self.bootstrap_servers))

        self._consumer: Any = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._assigned: set[TP] = set()
        self._queues: dict[TP, deque[_Pending]] = {}  # unresolved records per partition, offset order
        self._unbatched: deque[_Pending] = deque()  # consumed, not yet in a batch, arrival order
        self._unbatched_bytes = 0
        self._work: deque[Work] = deque()  # batches to invoke; only the head runs
        self._fetch_pos: dict[TP, int] = {}  # next offset after the last consumed one
        self._committed: dict[TP, int] = {}  # what we last committed
        self._skip_before_ts: dict[TP, int] = {}  # AT_TIMESTAMP refinement (see _on_assign)
        self._lag_checked = 0.0
        self._executor = BatchExecutor(
            name=self.name,
            spec=spec,
            invoke=invoke,
            counters=self.counters,
            max_retries=self._max_retries,
            build_event=self._event,
            remaining_after_partial=self._remaining_after_partial,
            record_time_ms=lambda p: p.msg.timestamp_ms,
            dispose=self._dispose,
            stop=self._stop,
            backoff=(retry_backoff_s, max_retry_backoff_s),
            clock=clock,
        )

    # ------------------------------------------------------------------ lifecycle

    def _make_producer(self) -> Any:
        from confluent_kafka import Producer

        return Producer({"bootstrap.servers": ",".join(self.bootstrap_servers), "linger.ms": 0})

    def _ensure_consumer(self) -> None:
        if self._consumer is not None:
            return
        from confluent_kafka import Consumer

        start = self.spec.starting_position.upper()
        conf: dict[str, Any] = {
            "bootstrap.servers": ",".join(self.bootstrap_servers),
            "group.id": self.group_id,
            "client.id": f"lambda-esm-{self.spec.function_logical_id}-{self.spec.name}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "session.timeout.ms": 6000,
            # librdkafka's default heartbeat (3 s) is half the session; a third or less rides out a
            # slow coordinator answer without the group expiring the member.
            "heartbeat.interval.ms": 1000,
            # Retrying a batch can take long without polling; the session (heartbeats) still proves
            # liveness, so allow long gaps between polls instead of being kicked out of the group.
            "max.poll.interval.ms": 3_600_000,
            # StartingPosition applies only when the group has no committed offset, exactly like this.
            "auto.offset.reset": "latest" if start == "LATEST" else "earliest",
            "enable.partition.eof": False,
        }
        conf.update(self._consumer_overrides)
        consumer = Consumer(conf, logger=logging.getLogger("local_runtime.esm.kafka.mapping.rdkafka"))
        consumer.subscribe(
            list(self.spec.topics), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        self._consumer = consumer

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling: the current invocation finishes, resolved offsets are committed, the consumer
        leaves the group. Records of a batch still being retried stay uncommitted (redelivered later).
        ``start()`` may be called again afterwards (a new consumer joins the same group)."""
        self._stop_loop(timeout)
        with self._lock:
            if self._consumer is not None:
                try:
                    self._commit_resolved()
                finally:
                    self._consumer.close()
                    self._consumer = None
            self._sender.close()

    # ------------------------------------------------------------------ rebalance callbacks

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        from confluent_kafka import OFFSET_END, TopicPartition

        self._assigned |= {(tp.topic, tp.partition) for tp in partitions}
        if self.spec.starting_position.upper() == "AT_TIMESTAMP" and self.spec.starting_position_timestamp:
            ts_ms = int(float(self.spec.starting_position_timestamp) * 1000)
            committed = consumer.committed(partitions, timeout=10)
            fresh = [tp for tp in committed if tp.offset < 0]
            if fresh:
                found = consumer.offsets_for_times(
                    [TopicPartition(tp.topic, tp.partition, ts_ms) for tp in fresh], timeout=10
                )
                by_tp = {(tp.topic, tp.partition): tp.offset for tp in found}
                for tp in partitions:
                    key = (tp.topic, tp.partition)
                    if key in by_tp:
                        tp.offset = by_tp[key] if by_tp[key] >= 0 else OFFSET_END
                        # Some brokers (Tansu) answer ListOffsets-by-time with an earlier offset; Kafka's
                        # contract is "first offset with timestamp >= ts", so skip earlier records here.
                        self._skip_before_ts[key] = ts_ms
            consumer.assign(partitions)
        log.info("%s: assigned %s", self.name, sorted(self._assigned))

    def _forget(self, tps: Iterable[TP]) -> None:
        gone = set(tps)
        for tp in gone:
            # _committed is kept: it is what we last wrote (shown by status after stop()).
            self._queues.pop(tp, None)
            self._fetch_pos.pop(tp, None)
            self._skip_before_ts.pop(tp, None)
        self._assigned -= gone
        self._unbatched = deque(p for p in self._unbatched if p.tp not in gone)
        self._unbatched_bytes = sum(p.size for p in self._unbatched)
        kept: deque[Work] = deque()
        for w in self._work:
            w.records = [p for p in w.records if p.tp not in gone]
            if w.records:
                kept.append(w)
        self._work = kept

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        tps = [(tp.topic, tp.partition) for tp in partitions]
        with contextlib.suppress(Exception):  # commit what is resolved before losing the partitions
            self._commit_resolved(only=set(tps))
        self._forget(tps)
        log.info("%s: revoked %s", self.name, tps)

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        self._forget((tp.topic, tp.partition) for tp in partitions)

    # ------------------------------------------------------------------ consuming

    def _filter_subject(self, record: Mapping[str, Any], msg: KafkaMessage) -> tuple[dict[str, Any], bool]:
        subject = dict(record)
        if msg.value is None:
            subject.pop("value", None)
            return subject, False
        try:
            subject["value"] = json.loads(msg.value.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            subject.pop("value", None)
            return subject, False
        return subject, True

    def _accept(self, raw: Any) -> None:
        err = raw.error()
        if err is not None:
            # Transient broker/partition errors are reported as messages; librdkafka recovers itself.
            log.warning("%s: consumer error: %s", self.name, err)
            self.counters.last_error = str(err)
            return
        msg = message_from_confluent(raw)
        tp = (msg.topic, msg.partition)
        if tp not in self._assigned:
            return  # stale message of a partition revoked meanwhile
        self._fetch_pos[tp] = msg.offset + 1
        skip_ts = self._skip_before_ts.get(tp)
        if skip_ts is not None:
            if 0 <= msg.timestamp_ms < skip_ts:
                return
            del self._skip_before_ts[tp]
        record = build_kafka_record(msg)
        if self._filter:
            subject, has_json = self._filter_subject(record, msg)
            if has_json:
                passes = self._filter.matches(subject)
            else:
                # Only patterns that do not look at `value` can match (an empty EventFilter would
                # match everything, so check that there is one).
                passes = bool(self._filter_without_value) and self._filter_without_value.matches(subject)
            if not passes:
                self.counters.records_filtered += 1
                return
        size = len(json.dumps(record, separators=(",", ":"))) + len(partition_key(*tp)) + 8
        pending = _Pending(msg=msg, record=record, size=size, arrived=time.monotonic())
        self._queues.setdefault(tp, deque()).append(pending)
        self._unbatched.append(pending)
        self._unbatched_bytes += size

    def _batch_due(self) -> bool:
        if not self._unbatched:
            return False
        if len(self._unbatched) >= self._batch_size:
            return True
        if self._base_size + self._unbatched_bytes >= MAX_PAYLOAD_BYTES:
            return True
        return time.monotonic() >= self._unbatched[0].arrived + self._window

    def _fill(self, wait_s: float) -> int:
        """Consume until a batch is due, or ``wait_s`` passes with nothing buffered. Returns #consumed."""
        consumed = 0
        deadline = time.monotonic() + max(0.0, wait_s)
        while not self._stop.is_set():
            if self._batch_due():
                break
            now = time.monotonic()
            if self._unbatched:
                wait = self._unbatched[0].arrived + self._window - now
            else:
                wait = deadline - now
                if wait <= 0:
                    break
            wait = min(max(wait, 0.0), 0.25)  # short slices keep stop() responsive
            room = max(1, self._batch_size - len(self._unbatched))
            if not self._unbatched:
                # poll() returns on the first message (consume() would wait to fill `room`).
                first = self._consumer.poll(wait)
                msgs = [first] if first is not None else []
                if msgs:
                    msgs += self._consumer.consume(num_messages=max(1, room - 1), timeout=0)
            else:
                msgs = self._consumer.consume(num_messages=room, timeout=wait)
            for m in msgs:
                self._accept(m)
                consumed += 1
            if not self._unbatched and not msgs and time.monotonic() >= deadline:
                break
        return consumed

    def _take_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        size = self._base_size
        while self._unbatched and len(batch) < self._batch_size:
            p = self._unbatched[0]
            if batch and size + p.size > MAX_PAYLOAD_BYTES:
                break
            self._unbatched.popleft()
            self._unbatched_bytes -= p.size
            batch.append(p)
            size += p.size
        return batch

    # ------------------------------------------------------------------ invoking

    def _event(self, records: Iterable[_Pending]) -> dict[str, Any]:
        return build_kafka_event(
            (p.record for p in records),
            bootstrap_servers=self.bootstrap_servers,
            source="MSK" if self.spec.kind == "MSK" else "SelfManagedKafka",
            cluster_arn=self.spec.cluster_arn,
        )

    def _dispose(
        self,
        records: list[_Pending],
        *,
        condition: str,
        invoke_count: int,
        status_code: int,
        function_error: str | None,
        request_id: str | None,
    ) -> None:
        """Send ``records`` to the destination (or discard them) and mark them resolved."""
        if self._sender.configured:
            event = self._event(records)
            doc = build_kafka_on_failure_record(
                event,
                function_arn=self.function_arn,
                condition=condition,
                approximate_invoke_count=invoke_count,
                request_id=request_id,
                status_code=status_code,
                function_error=function_error,
                include_payload=self._sender.include_payload,
            )
            self._sender.send(doc, source_part=records[0].key)
            self.counters.records_dead_lettered += len(records)
            log.warning("%s: %d record(s) sent to on-failure destination (%s)", self.name, len(records), condition)
        else:
            self.counters.records_discarded += len(records)
            log.warning("%s: %d record(s) discarded (%s, no destination)", self.name, len(records), condition)
        for p in records:
            p.resolved = True

    def _remaining_after_partial(self, response: Any, records: list[_Pending]) -> list[_Pending]:
        """Records to retry after a partial batch response: per partition, from the lowest failed
        offset on. Empty when the response reports no failure."""
        present = {(p.key, p.msg.offset) for p in records}
        lowest: dict[str, int] = {}
        for ident in batch_item_identifiers(response):
            if not isinstance(ident, Mapping):
                raise MalformedBatchResponse(f"itemIdentifier is not an object: {ident!r}")
            part, offset = ident.get("partition"), ident.get("offset")
            if isinstance(offset, str) and offset.strip().lstrip("-").isdigit():
                offset = int(offset)
            if not isinstance(part, str) or not isinstance(offset, int) or isinstance(offset, bool):
                raise MalformedBatchResponse(f"invalid itemIdentifier: {ident!r}")
            if (part, offset) not in present:
                # Pointing outside the batch cannot be honoured safely: treat as a failed batch.
                raise MalformedBatchResponse(f"itemIdentifier not in batch: {ident!r}")
            lowest[part] = min(offset, lowest.get(part, offset))
        return [p for p in records if p.key in lowest and p.msg.offset >= lowest[p.key]]

    # ------------------------------------------------------------------ committing

    def _commit_resolved(self, only: set[TP] | None = None) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        if self._consumer is None:
            return
        offsets = []
        for tp in list(self._queues) + [tp for tp in self._fetch_pos if tp not in self._queues]:
            if only is not None and tp not in only:
                continue
            q = self._queues.get(tp)
            while q and q[0].resolved:
                q.popleft()
            pos = q[0].msg.offset if q else self._fetch_pos.get(tp)
            if pos is not None and pos != self._committed.get(tp):
                offsets.append(TopicPartition(tp[0], tp[1], pos))
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # e.g. during a rebalance: _committed is unchanged, so the same offsets are retried next round.
            log.warning("%s: commit failed: %s", self.name, exc)
            return
        for o in offsets:
            self._committed[(o.topic, o.partition)] = o.offset

    # ------------------------------------------------------------------ driving

    def poll_once(self, timeout: float | None = None) -> int:
        """One step: retry/invoke the pending batch, or consume (up to ``timeout`` when nothing is
        buffered, longer while a batching window is open) and invoke a batch that became due.

        Commits resolved offsets afterwards. Returns the number of records consumed plus invoked.
        """
        with self._lock:
            if not self.spec.enabled or (self._stop.is_set() and self._consumer is None):
                return 0  # disabled, or stopped (start() again to resume)
            self._ensure_consumer()
            progress = 0
            if self._work:
                progress += len(self._work[0].records)
                self._executor.step(self._work)
            else:
                progress += self._fill(self._poll_timeout if timeout is None else timeout)
                if self._batch_due() and not self._stop.is_set():
                    batch = self._take_batch()
                    if batch:
                        self._work.append(Work(batch))
                        progress += len(batch)
                        self._executor.step(self._work)
            self._commit_resolved()
            if time.monotonic() - self._lag_checked > 0.5:
                self._update_lag()
            return progress

    def _watermarks(self, tp: TP) -> tuple[int, int] | None:
        from confluent_kafka import TopicPartition

        # The cached values come with every fetch response, so they are fresh while we consume. A
        # broker query (cached=False) costs ~0.5 s per partition on Tansu and under-reports the high
        # watermark after multi-record batches; None until the first fetch response.
        try:
            lo, hi = self._consumer.get_watermark_offsets(TopicPartition(*tp), cached=True)
        except Exception:
            return None
        if lo < 0 or hi < 0:
            return None
        return lo, hi

    def _position(self, tp: TP) -> int | None:
        q = self._queues.get(tp)
        if q:
            return q[0].msg.offset
        if tp in self._fetch_pos:
            return self._fetch_pos[tp]
        return self._committed.get(tp)

    def _update_lag(self) -> None:
        self._lag_checked = time.monotonic()
        lag = 0
        for tp in list(self._assigned):
            wm = self._watermarks(tp)
            if wm is None:
                continue
            lo, hi = wm
            pos = self._position(tp)
            if pos is None:
                pos = hi if self.spec.starting_position.upper() == "LATEST" else lo
            lag += max(0, hi - pos)
        self.counters.lag = lag

    def _caught_up(self) -> bool:
        for tp in list(self._assigned):
            wm = self._watermarks(tp)
            if wm is None:
                return False
            lo, hi = wm
            pos = self._position(tp)
            if pos is None:
                if self.spec.starting_position.upper() == "LATEST":
                    continue  # nothing consumed yet and starting at the end: nothing to catch up on
                pos = lo
            if pos < hi:
                return False
        return True

    def run_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Poll synchronously until ``predicate()`` is true; raises ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: condition not reached in {timeout}s")
            self.poll_once(timeout=0.1)

    def run_until_idle(self, timeout: float = 30.0, idle_s: float = 1.0) -> None:
        """Poll synchronously until the group is joined, nothing is buffered or being retried, every
        assigned partition is consumed up to its end, and ``idle_s`` passed without a new record.

        Raises ``TimeoutError`` after ``timeout`` seconds (e.g. a batch that keeps failing forever).
        """
        if not self.spec.enabled:
            return
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: not idle after {timeout}s ({self.status()})")
            progress = self.poll_once(timeout=min(0.2, idle_s))
            # An empty assignment is a rebalance in progress (locally a mapping is its group's only
            # member), not a finished job.
            busy = progress > 0 or bool(self._work) or bool(self._unbatched) or not self._assigned
            if busy:
                quiet_since = None
                continue
            now = time.monotonic()
            if quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= idle_s and self._caught_up():
                self._update_lag()
                return

    # ------------------------------------------------------------------ status

    def committed_offsets(self) -> dict[str, int]:
        """Offsets this mapping committed, as ``{"<topic>-<partition>": offset}``."""
        return {partition_key(*tp): off for tp, off in sorted(self._committed.items())}

    def status(self) -> dict[str, Any]:
        """A snapshot for a status display (safe to call from another thread)."""
        work = list(self._work)  # C-level copies: atomic under the GIL while the poller runs
        return {
            "name": self.name,
            "kind": self.spec.kind,
            "function": self.spec.function_logical_id,
            "topics": list(self.spec.topics),
            "group_id": self.group_id,
            "running": self.running,
            "assigned": sorted(partition_key(*tp) for tp in self._assigned),
            "buffered": len(self._unbatched),
            "retrying": sum(len(w.records) for w in work),
            "committed": self.committed_offsets(),
            **self.counters.snapshot(),
        }
