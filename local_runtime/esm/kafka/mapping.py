"""Local emulation of a Lambda Kafka event-source mapping (Amazon MSK or self-managed Apache Kafka).

A confluent-kafka group consumer feeds batches to an in-process ``invoke(event)`` callable with AWS's
semantics (docs/AWS_EVENT_SOURCES.md). What is shared with the DynamoDB Streams mapping lives in
:mod:`local_runtime.esm` (batching, retries, bisect, partial responses, record age, on-failure
destinations); this module adds what is Kafka's own:

* one batch may hold several partitions, each partition's records in offset order; the event's
  overhead (source, ARN, servers) counts towards the 6 MB limit;
* ``FilterCriteria`` apply to ``value``, JSON or plain text (:mod:`.filtering`); filtered
  records are committed and never invoked;
* offsets are committed only after records are resolved (processed, filtered, or sent to the on-failure
  destination); the committed offset of a partition is always its first unresolved offset
  (:mod:`.partitions`);
* ``ReportBatchItemFailures`` identifiers are ``{"partition": "<topic>-<n>", "offset": n}``: per partition
  the records before the lowest failed offset are committed and the batch is retried from there;
* ``MaximumRetryAttempts`` -1 is capped at 10 when a destination is configured, and ``kafka://topic``
  is a valid destination;
* ordering: while a batch is being retried nothing else is invoked, so no later record of a partition
  runs before an earlier failing one is resolved (this blocks all partitions of the mapping, which is
  stricter than AWS but never weaker).

Retried records are kept in memory instead of being re-fetched with ``seek``: the effect is the same
(retry starts exactly at the lowest unresolved offset) and the committed offset never moves past them,
so a restart re-delivers them from Kafka.

Two ways to drive it: ``start()``/``stop()`` runs the poll loop in a thread; ``poll_once()`` and
``run_until_idle()`` run it synchronously for deterministic tests.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from local_runtime.esm.destinations import arn_parts
from local_runtime.esm.executor import Work
from local_runtime.esm.kafka.consumer import (
    cached_watermarks,
    consumer_config,
    make_producer,
    new_consumer,
    start_at_timestamp,
)
from local_runtime.esm.kafka.events import (
    build_kafka_event,
    build_kafka_on_failure_record,
    build_kafka_record,
    message_from_confluent,
    partition_key,
)
from local_runtime.esm.kafka.filtering import KafkaRecordFilter
from local_runtime.esm.kafka.partitions import TP, PartitionBook, PendingMessage
from local_runtime.esm.kafka.schema_registry import KafkaSchemaRegistry, RegistryFailure, registry_for
from local_runtime.esm.mapping import EventSourceMapping
from local_runtime.esm.on_failure import FailureFields
from local_runtime.esm.payload import json_size
from local_runtime.esm.responses import MalformedBatchResponse, batch_item_identifiers
from local_runtime.esm.spec import MappingSpec

__all__ = ["KafkaEventSourceMapping"]

log = logging.getLogger(__name__)

# Lambda's account in moto; only used to make a default function ARN when none is given.
_DEFAULT_ACCOUNT = "123456789012"


class KafkaEventSourceMapping(EventSourceMapping[PendingMessage]):
    """Emulates one ``MSK`` / ``SelfManagedKafka`` event-source mapping of one function."""

    thread_prefix = "esm-kafka"
    default_idle_s = 1.0
    caps_infinite_retries = True

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
        glue_client: Any = None,
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
        self.bootstrap_servers: list[str] = list(servers)
        region = arn_parts(spec.cluster_arn)[3] if spec.cluster_arn else "us-east-1"
        default_arn = f"arn:aws:lambda:{region}:{_DEFAULT_ACCOUNT}:function:{spec.function_logical_id}"
        clients = {
            "sqs_client": sqs_client,
            "sns_client": sns_client,
            "s3_client": s3_client,
            "kafka_producer_factory": lambda: make_producer(self.bootstrap_servers),
        }
        backoff = (retry_backoff_s, max_retry_backoff_s)
        super().__init__(spec, invoke, function_arn or default_arn, clients, backoff=backoff, clock=clock)
        self.group_id = spec.consumer_group_id or self.uuid
        self._poll_timeout = poll_timeout_s
        self._consumer_overrides = dict(consumer_config or {})
        self._filter = KafkaRecordFilter(spec.filter_patterns)
        # SchemaRegistryConfig: records are validated and deserialized before filtering and batching.
        self._registry: KafkaSchemaRegistry | None = registry_for(spec, glue_client, sqs_client)
        # Event overhead besides records (source, ARN, servers), padded for the partition keys' JSON.
        self._batcher = self._new_batcher(256 + len(spec.cluster_arn or "") + len(",".join(self.bootstrap_servers)))
        self._consumer: Any = None
        self._partitions = PartitionBook()
        self._work: deque[Work[PendingMessage]] = deque()  # batches to invoke; only the head runs
        self._lag_checked = 0.0

    # ------------------------------------------------------------------ lifecycle

    def _ensure_consumer(self) -> None:
        if self._consumer is not None:
            return
        conf = consumer_config(self.spec, self.bootstrap_servers, self.group_id, self._consumer_overrides)
        consumer = new_consumer(conf)
        consumer.subscribe(
            list(self.spec.topics), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        self._consumer = consumer

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling: the current invocation finishes, resolved offsets are committed, the consumer
        leaves the group. Records of a batch still being retried stay uncommitted (redelivered later).
        ``start()`` may be called again afterwards (a new consumer joins the same group).

        An invocation still running after ``timeout`` seconds is not waited for: its records stay uncommitted
        and the poll thread commits and closes the consumer itself if (when) it returns."""
        if self._stop_loop(timeout):
            self._finish_stop()

    def _finish_stop(self) -> None:
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
        self._partitions.assigned |= {(tp.topic, tp.partition) for tp in partitions}
        if self.spec.starting_position.upper() == "AT_TIMESTAMP" and self.spec.starting_position_timestamp:
            ts_ms = int(float(self.spec.starting_position_timestamp) * 1000)
            for tp in start_at_timestamp(consumer, partitions, ts_ms):
                self._partitions.skip_before_ts[tp] = ts_ms
        # Where the group left each partition: until a record is consumed, that is this poller's position
        # (a restarted mapping, or a partition moved from another poller, is not behind by the whole log).
        with contextlib.suppress(Exception):
            for tp in consumer.committed(partitions, timeout=5):
                if tp.offset >= 0:
                    self._partitions.committed[(tp.topic, tp.partition)] = tp.offset
        log.info("%s: assigned %s", self.name, sorted(self._partitions.assigned))

    def _forget(self, tps: Iterable[TP]) -> None:
        gone = set(tps)
        self._partitions.forget(gone)
        self._batcher.discard(lambda p: p.tp in gone)
        kept: deque[Work[PendingMessage]] = deque()
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

    def _accept(self, raw: Any) -> None:
        err = raw.error()
        if err is not None:
            # Transient broker/partition errors are reported as messages; librdkafka recovers itself.
            log.warning("%s: consumer error: %s", self.name, err)
            self.counters.last_error = str(err)
            return
        msg = message_from_confluent(raw)
        tp = (msg.topic, msg.partition)
        if tp not in self._partitions.assigned:
            return  # stale message of a partition revoked meanwhile
        if not self._partitions.consumed(msg):
            return
        record = build_kafka_record(msg)
        self.counters.records_polled += 1
        filter_value = msg.value
        if self._registry is not None:
            try:
                decoded = self._registry.apply(msg)
            except RegistryFailure as exc:
                self._refuse(msg, record, exc)
                return
            record.update(decoded.fields)
            filter_value = decoded.filter_value
        if self._filter and not self._filter.matches(filter_value):
            self.counters.records_filtered += 1
            return
        size = json_size(record) + len(partition_key(*tp)) + 8
        pending = PendingMessage(record=record, size=size, arrived=time.monotonic(), msg=msg)
        self._partitions.track(pending)
        self._batcher.add(pending)

    def _refuse(self, msg: Any, record: dict[str, Any], exc: RegistryFailure) -> None:
        """A record the schema registry refused: to the on-failure destination with AWS's reason code,
        never invoked (queued as a disposal so a destination outage is retried like any other)."""
        log.warning("%s: %s-%d@%d refused by the schema registry: %s", self.name, msg.topic, msg.partition,
                    msg.offset, exc)
        pending = PendingMessage(record=record, size=json_size(record), arrived=time.monotonic(), msg=msg)
        self._partitions.track(pending)
        work = Work([pending])
        work.disposal = (exc.reason, 200, None)
        self._work.append(work)

    def _fill(self, wait_s: float) -> int:
        """Consume until a batch is due, or ``wait_s`` passes with nothing buffered. Returns #consumed."""
        consumed = 0
        deadline = time.monotonic() + max(0.0, wait_s)
        while not self._stop.is_set():
            if self._batcher.due():
                break
            now = time.monotonic()
            window_end = self._batcher.window_closes_at()
            if window_end is not None:
                wait = window_end - now
            else:
                wait = deadline - now
                if wait <= 0:
                    break
            wait = min(max(wait, 0.0), 0.25)  # short slices keep stop() responsive
            room = self._batcher.room()
            if not self._batcher:
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
            if not self._batcher and not msgs and time.monotonic() >= deadline:
                break
        return consumed

    # ------------------------------------------------------------------ executor hooks

    def _build_event(self, records: list[PendingMessage]) -> dict[str, Any]:
        return build_kafka_event(
            (p.record for p in records),
            bootstrap_servers=self.bootstrap_servers,
            source="MSK" if self.spec.kind == "MSK" else "SelfManagedKafka",
            cluster_arn=self.spec.cluster_arn,
        )

    def _record_time_ms(self, record: PendingMessage) -> float | None:
        return record.msg.timestamp_ms

    def _on_failure_record(
        self, records: list[PendingMessage], fields: FailureFields, include_payload: bool
    ) -> dict[str, Any]:
        return build_kafka_on_failure_record(
            self._build_event(records), function_arn=self.function_arn, include_payload=include_payload, **fields
        )

    def _source_part(self, records: list[PendingMessage]) -> str:
        return records[0].key

    def _remaining_after_partial(self, response: Any, records: list[PendingMessage]) -> list[PendingMessage]:
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
        offsets = self._partitions.to_commit(only)
        if not offsets:
            return
        try:
            self._consumer.commit(
                offsets=[TopicPartition(t, p, off) for (t, p), off in offsets.items()], asynchronous=False
            )
        except KafkaException as exc:
            # e.g. during a rebalance: nothing is marked committed, so the same offsets are retried next round.
            log.warning("%s: commit failed: %s", self.name, exc)
            return
        self._partitions.committed.update(offsets)

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
                if self._batcher.due() and not self._stop.is_set():
                    batch = self._batcher.take()
                    if batch:
                        self._work.append(Work(batch))
                        progress += len(batch)
                        self._executor.step(self._work)
            self._commit_resolved()
            if time.monotonic() - self._lag_checked > 0.5:
                self._update_lag()
            return progress

    def _poll_sync(self, wait_s: float) -> int:
        return self.poll_once(timeout=wait_s)

    def _busy(self) -> bool:
        # An empty assignment is a rebalance in progress (locally a mapping is its group's only member),
        # not a finished job.
        return bool(self._work) or bool(self._batcher) or not self._partitions.assigned

    def _watermarks(self, tp: TP) -> tuple[int, int] | None:
        return cached_watermarks(self._consumer, tp)

    def _update_lag(self) -> None:
        self._lag_checked = time.monotonic()
        latest = self.spec.starting_position.upper() == "LATEST"
        self.counters.lag = self._partitions.lag(self._watermarks, latest=latest)

    def _caught_up(self) -> bool:
        latest = self.spec.starting_position.upper() == "LATEST"
        return self._partitions.caught_up(self._watermarks, latest=latest)

    def _on_idle(self) -> None:
        self._update_lag()

    # ------------------------------------------------------------------ status

    def committed_offsets(self) -> dict[str, int]:
        """Offsets this mapping committed, as ``{"<topic>-<partition>": offset}``."""
        return self._partitions.committed_by_key()

    def _describe(self) -> dict[str, Any]:
        work = list(self._work)  # C-level copies: atomic under the GIL while the poller runs
        return {
            "topics": list(self.spec.topics),
            "group_id": self.group_id,
            "running": self.running,
            "assigned": sorted(partition_key(*tp) for tp in self._partitions.assigned),
            "buffered": len(self._batcher),
            "retrying": sum(len(w.records) for w in work),
            "committed": self.committed_offsets(),
        }
