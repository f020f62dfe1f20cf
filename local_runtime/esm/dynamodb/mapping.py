"""Local emulation of a Lambda DynamoDB Streams event-source mapping (DESIGN.md section 3).

It polls ``dynamodbstreams`` itself (DescribeStream -> GetShardIterator -> GetRecords), because moto's own
Lambda mappings fire inside the write and need Docker. Per shard, in sequence-number order:

* batches close at ``BatchSize`` records, after ``MaximumBatchingWindowInSeconds`` (default 0: as soon
  as records are there), before the event would pass 6 MB, or when the shard ends;
* ``FilterCriteria`` apply to the Lambda record (``eventName``, ``dynamodb`` with typed images, ...);
  filtered records are checkpointed and never invoked;
* ``ReportBatchItemFailures``: ``itemIdentifier`` is a SequenceNumber; the checkpoint moves to just
  before the LOWEST reported one and the batch is retried from there; null/empty list = success;
  an empty, malformed or unknown identifier fails the whole batch;
* function errors retry the batch (``BisectBatchOnFunctionError`` halves it first),
  ``MaximumRetryAttempts`` (-1 infinite), ``MaximumRecordAgeInSeconds`` and ``OnFailure`` (SQS/SNS/S3)
  behave as on AWS (the logic is shared with the Kafka mapping: :class:`BatchExecutor`);
* shards are processed parent first: a child shard starts (at TRIM_HORIZON) only once its parent is
  finished; shards are re-listed periodically.

Checkpoints (the last resolved sequence number per shard) live in memory and, optionally, in a
:class:`CheckpointStore` so a restarted mapping resumes right after them: nothing lost, nothing
reprocessed. For ``LATEST`` the store also remembers when the mapping first started, so a restart with
no checkpoint yet does not skip records written while it was down (see :meth:`_start_iterator`).

Not emulated: ``ParallelizationFactor`` > 1 (one batch per shard at a time, which is what factor 1 does)
and ``TumblingWindowInSeconds`` (the state/window fields are not added to events).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from local_runtime.esm.filtering import EventFilter
from local_runtime.esm.kafka.events import MAX_PAYLOAD_BYTES
from local_runtime.esm.kafka.mapping import (
    BatchExecutor,
    MalformedBatchResponse,
    MappingCounters,
    OnFailureSender,
    Work,
    batch_item_identifiers,
    effective_max_retries,
    mapping_uuid,
)
from local_runtime.esm.spec import MappingSpec
from local_runtime.esm.poll_loop import PollLoop
from local_runtime.esm.dynamodb.events import (
    build_stream_event,
    build_stream_on_failure_record,
    build_stream_record,
)

__all__ = [
    "CheckpointStore",
    "DynamoDBStreamMapping",
    "JsonFileCheckpointStore",
    "MemoryCheckpointStore",
]

log = logging.getLogger(__name__)

_GET_RECORDS_MAX = 1000  # DynamoDB Streams GetRecords limit


class CheckpointStore(Protocol):
    """Where a mapping keeps its per-shard position across restarts."""

    def load(self, key: str) -> dict[str, Any] | None:
        """The saved value for ``key`` or ``None``."""
        ...

    def save(self, key: str, value: dict[str, Any]) -> None:
        """Persist ``value`` for ``key`` (must be durable when it returns)."""
        ...


class MemoryCheckpointStore:
    """A :class:`CheckpointStore` in a dict (share one instance to survive a mapping restart in-process)."""

    def __init__(self) -> None:
        """Start empty."""
        self.data: dict[str, dict[str, Any]] = {}

    def load(self, key: str) -> dict[str, Any] | None:
        """The saved value for ``key`` or ``None``."""
        value = self.data.get(key)
        return dict(value) if value is not None else None

    def save(self, key: str, value: dict[str, Any]) -> None:
        """Keep ``value`` for ``key``."""
        self.data[key] = dict(value)


class JsonFileCheckpointStore:
    """A :class:`CheckpointStore` in one JSON file, rewritten atomically (temp file + rename)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Use ``path``; it is created on the first save."""
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}

    def load(self, key: str) -> dict[str, Any] | None:
        """The saved value for ``key`` or ``None``."""
        with self._lock:
            return self._read().get(key)

    def save(self, key: str, value: dict[str, Any]) -> None:
        """Persist ``value`` for ``key`` (fsync + atomic rename, so a crash keeps the old or new file)."""
        with self._lock:
            data = self._read()
            data[key] = value
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, indent=1, sort_keys=True)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


@dataclass(eq=False)
class _StreamRecord:
    record: dict[str, Any]  # the Lambda record
    seq: int
    size: int
    arrived: float
    resolved: bool = False

    @property
    def sequence_number(self) -> str:
        return self.record["dynamodb"]["SequenceNumber"]


@dataclass(eq=False)
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    started: bool = False  # an iterator was obtained at least once
    ended: bool = False  # GetRecords returned no NextShardIterator: closed and fully read
    from_horizon: bool = False  # child of a shard we processed: start at TRIM_HORIZON
    checkpoint: str | None = None  # last resolved sequence number
    saved_checkpoint: str | None = None
    last_fetched: str | None = None
    skip_before_s: float | None = None  # LATEST restart refinement (see _start_iterator)
    unresolved: deque[_StreamRecord] = field(default_factory=deque)
    unbatched: deque[_StreamRecord] = field(default_factory=deque)
    unbatched_bytes: int = 0
    work: deque[Work] = field(default_factory=deque)

    @property
    def done(self) -> bool:
        return self.ended and not self.unresolved and not self.work


class DynamoDBStreamMapping(PollLoop):
    """Emulates one ``DynamoDB`` event-source mapping (a stream to a function)."""

    thread_prefix = "esm-ddb"

    def __init__(
        self,
        spec: MappingSpec,
        invoke: Callable[[dict[str, Any]], Any],
        streams_client: Any,
        function_arn: str | None = None,
        *,
        region: str | None = None,
        stream_arn: str | None = None,
        sqs_client: Any = None,
        sns_client: Any = None,
        s3_client: Any = None,
        checkpoint_store: CheckpointStore | None = None,
        retry_backoff_s: float = 0.2,
        max_retry_backoff_s: float = 5.0,
        poll_interval_s: float = 0.25,
        shard_refresh_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Configure the mapping; nothing is called until ``start()`` or ``poll_once()``.

        ``streams_client`` is a boto3 ``dynamodbstreams`` client. ``region`` is what records report as
        ``awsRegion`` (the deployment region; defaults to the stream ARN's region). ``stream_arn``
        overrides ``spec.stream_arn``. ``poll_interval_s`` is the pause of the background loop when a
        poll found nothing (AWS polls each shard about 4 times a second). ``clock`` (epoch seconds) is
        used for record ages.
        """
        if spec.kind != "DynamoDB":
            raise ValueError(f"{spec.name}: not a DynamoDB stream mapping ({spec.kind})")
        arn = stream_arn or spec.stream_arn
        if not arn:
            raise ValueError(f"{spec.name}: no stream ARN (deploy resolves it from the table)")
        self.spec = spec
        self.name = spec.name
        self.stream_arn = arn
        self.region = region or arn.split(":")[3]
        self.uuid = mapping_uuid(spec)
        self.function_arn = function_arn or (
            f"arn:aws:lambda:{self.region}:{arn.split(':')[4]}:function:{spec.function_logical_id}"
        )
        self.counters = MappingCounters()
        self._client = streams_client
        self._store = checkpoint_store
        self._clock = clock
        self.idle_wait_s = poll_interval_s
        self._shard_refresh = shard_refresh_s
        self._batch_size = max(1, int(spec.batch_size))
        self._window = max(0.0, float(spec.maximum_batching_window_s))
        self._filter = EventFilter(spec.filter_patterns)
        self._sender = OnFailureSender(
            spec.on_failure,
            mapping_id=self.uuid,
            sqs_client=sqs_client,
            sns_client=sns_client,
            s3_client=s3_client,
        )
        if spec.on_failure is not None and spec.on_failure.kind == "kafka":
            raise ValueError(f"{spec.name}: a Kafka on-failure destination is only valid for Kafka sources")
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._shards: dict[str, _Shard] = {}
        self._shards_listed_at = -1e9
        self._current: _Shard | None = None  # shard whose batch the executor is working on
        self._executor = BatchExecutor(
            name=self.name,
            spec=spec,
            invoke=invoke,
            counters=self.counters,
            # DESIGN.md's cap of 10 for infinite retries with a destination is Kafka's rule.
            max_retries=effective_max_retries(spec, cap_infinite_with_destination=False),
            build_event=lambda recs: build_stream_event(r.record for r in recs),
            remaining_after_partial=self._remaining_after_partial,
            record_time_ms=self._record_time_ms,
            dispose=self._dispose,
            stop=self._stop,
            backoff=(retry_backoff_s, max_retry_backoff_s),
            clock=clock,
        )

    # ------------------------------------------------------------------ lifecycle

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling after the current invocation; checkpoints of resolved records are saved.
        Records of a batch still being retried are not checkpointed (a restart retries them)."""
        self._stop_loop(timeout)
        with self._lock:
            for shard in self._shards.values():
                self._advance(shard)

    # ------------------------------------------------------------------ shards

    def _store_key(self, shard_id: str) -> str:
        return f"{self.uuid}|{self.stream_arn}|{shard_id}"

    def _refresh_shards(self) -> None:
        self._shards_listed_at = time.monotonic()
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            desc = self._client.describe_stream(**kwargs)["StreamDescription"]
            for sh in desc.get("Shards", []):
                sid = sh["ShardId"]
                if sid not in self._shards:
                    shard = _Shard(shard_id=sid, parent_id=sh.get("ParentShardId"))
                    if self._store is not None:
                        saved = self._store.load(self._store_key(sid)) or {}
                        shard.checkpoint = shard.saved_checkpoint = saved.get("sequence_number")
                    self._shards[sid] = shard
            last = desc.get("LastEvaluatedShardId")
            if not last:
                break
            kwargs["ExclusiveStartShardId"] = last

    def _ready(self, shard: _Shard) -> bool:
        if shard.done:
            return False
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        if parent is None:
            return True  # no parent, or one already trimmed from the stream
        if parent.done:
            shard.from_horizon = True
            return True
        return False

    def _start_iterator(self, shard: _Shard) -> None:
        """GetShardIterator after the checkpoint, else per StartingPosition.

        LATEST and restarts: a mapping that started at LATEST but has not checkpointed anything yet would,
        on restart, start at LATEST again and skip what was written meanwhile. So the first start saves
        its time; a restart without a sequence number reads from TRIM_HORIZON and skips records created
        before that time (ApproximateCreationDateTime), which is as close as the API allows.
        """
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        saved = self._store.load(self._store_key(shard.shard_id)) if self._store is not None else None
        if shard.checkpoint:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.checkpoint)
        elif shard.from_horizon or self.spec.starting_position.upper() == "TRIM_HORIZON":
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        elif saved and saved.get("latest_started_at") is not None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
            shard.skip_before_s = float(saved["latest_started_at"])
        else:
            kwargs["ShardIteratorType"] = "LATEST"
            if self._store is not None:
                self._store.save(self._store_key(shard.shard_id), {"latest_started_at": self._clock() - 1.0})
        shard.iterator = self._client.get_shard_iterator(**kwargs)["ShardIterator"]
        shard.started = True

    # ------------------------------------------------------------------ records

    def _accept(self, shard: _Shard, raw: Mapping[str, Any]) -> None:
        record = build_stream_record(raw, region=self.region, stream_arn=self.stream_arn)
        seq = record["dynamodb"]["SequenceNumber"]
        shard.last_fetched = seq
        size = len(json.dumps(record, separators=(",", ":"))) + 1
        rec = _StreamRecord(record=record, seq=int(seq), size=size, arrived=time.monotonic())
        shard.unresolved.append(rec)
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        if shard.skip_before_s is not None and created is not None and float(created) < shard.skip_before_s:
            rec.resolved = True  # existed before this mapping first started at LATEST
            return
        if self._filter and not self._filter.matches(record):
            rec.resolved = True
            self.counters.records_filtered += 1
            return
        shard.unbatched.append(rec)
        shard.unbatched_bytes += size

    def _fetch(self, shard: _Shard) -> int:
        if shard.iterator is None:
            self._start_iterator(shard)
        limit = min(_GET_RECORDS_MAX, max(1, self._batch_size - len(shard.unbatched)))
        try:
            resp = self._client.get_records(ShardIterator=shard.iterator, Limit=limit)
        except self._client.exceptions.ExpiredIteratorException:
            # Iterators expire after 15 minutes: continue right after the last record we read.
            kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
            if shard.last_fetched:
                kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.last_fetched)
                shard.iterator = self._client.get_shard_iterator(**kwargs)["ShardIterator"]
            else:
                shard.iterator = None
            return 0
        records = resp.get("Records", [])
        for raw in records:
            self._accept(shard, raw)
        shard.iterator = resp.get("NextShardIterator")
        if shard.iterator is None:
            shard.ended = True
        return len(records)

    def _batch_due(self, shard: _Shard) -> bool:
        if not shard.unbatched:
            return False
        if len(shard.unbatched) >= self._batch_size or shard.ended:
            return True
        if 256 + shard.unbatched_bytes >= MAX_PAYLOAD_BYTES:
            return True
        return time.monotonic() >= shard.unbatched[0].arrived + self._window

    def _take_batch(self, shard: _Shard) -> list[_StreamRecord]:
        batch: list[_StreamRecord] = []
        size = 256
        while shard.unbatched and len(batch) < self._batch_size:
            r = shard.unbatched[0]
            if batch and size + r.size > MAX_PAYLOAD_BYTES:
                break
            shard.unbatched.popleft()
            shard.unbatched_bytes -= r.size
            batch.append(r)
            size += r.size
        return batch

    # ------------------------------------------------------------------ executor hooks

    @staticmethod
    def _record_time_ms(r: _StreamRecord) -> float | None:
        created = r.record["dynamodb"].get("ApproximateCreationDateTime")
        return None if created is None else float(created) * 1000

    def _remaining_after_partial(self, response: Any, records: list[_StreamRecord]) -> list[_StreamRecord]:
        """Records to retry after a partial batch response: from the LOWEST reported sequence number."""
        by_seq = {r.sequence_number: r for r in records}
        lowest: int | None = None
        for ident in batch_item_identifiers(response):
            if not isinstance(ident, str) or ident not in by_seq:
                raise MalformedBatchResponse(f"itemIdentifier is not a sequence number of the batch: {ident!r}")
            seq = by_seq[ident].seq
            lowest = seq if lowest is None else min(lowest, seq)
        if lowest is None:
            return []
        return [r for r in records if r.seq >= lowest]

    def _dispose(
        self,
        records: list[_StreamRecord],
        *,
        condition: str,
        invoke_count: int,
        status_code: int,
        function_error: str | None,
        request_id: str | None,
    ) -> None:
        shard = self._current
        assert shard is not None
        if self._sender.configured:
            doc = build_stream_on_failure_record(
                [r.record for r in records],
                shard_id=shard.shard_id,
                stream_arn=self.stream_arn,
                function_arn=self.function_arn,
                condition=condition,
                approximate_invoke_count=invoke_count,
                request_id=request_id,
                status_code=status_code,
                function_error=function_error,
                include_payload=self._sender.include_payload,
            )
            self._sender.send(doc, source_part=shard.shard_id)
            self.counters.records_dead_lettered += len(records)
            log.warning("%s: %d record(s) sent to on-failure destination (%s)", self.name, len(records), condition)
        else:
            self.counters.records_discarded += len(records)
            log.warning("%s: %d record(s) discarded (%s, no destination)", self.name, len(records), condition)
        for r in records:
            r.resolved = True

    # ------------------------------------------------------------------ checkpoints

    def _advance(self, shard: _Shard) -> None:
        """Move the checkpoint over the resolved prefix of the shard and persist it."""
        while shard.unresolved and shard.unresolved[0].resolved:
            shard.checkpoint = shard.unresolved.popleft().sequence_number
        if self._store is not None and shard.checkpoint and shard.checkpoint != shard.saved_checkpoint:
            self._store.save(self._store_key(shard.shard_id), {"sequence_number": shard.checkpoint})
            shard.saved_checkpoint = shard.checkpoint

    def checkpoints(self) -> dict[str, str | None]:
        """Last resolved sequence number per shard id."""
        return {sid: s.checkpoint for sid, s in self._shards.items()}

    # ------------------------------------------------------------------ driving

    def poll_once(self) -> int:
        """One round over the ready shards: advance a batch being retried, or GetRecords and invoke a
        batch that is due. Returns the number of records fetched plus invoked (0 = nothing happened)."""
        with self._lock:
            if not self.spec.enabled:
                return 0
            if time.monotonic() - self._shards_listed_at >= self._shard_refresh or not self._shards:
                self._refresh_shards()
            progress = 0
            for shard in list(self._shards.values()):
                if self._stop.is_set():
                    break
                if not self._ready(shard):
                    continue
                self._current = shard
                if shard.work:
                    progress += len(shard.work[0].records)
                    self._executor.step(shard.work)
                else:
                    if not shard.ended and len(shard.unbatched) < self._batch_size:
                        progress += self._fetch(shard)
                    if self._batch_due(shard):
                        batch = self._take_batch(shard)
                        shard.work.append(Work(batch))
                        progress += len(batch)
                        self._executor.step(shard.work)
                self._advance(shard)
            self._current = None
            self.counters.lag = sum(len(s.unresolved) for s in self._shards.values())
            return progress

    def _busy(self) -> bool:
        return any(s.work or s.unbatched for s in list(self._shards.values()))

    def run_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Poll synchronously until ``predicate()`` is true; ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: condition not reached in {timeout}s")
            if not self.poll_once():
                time.sleep(0.02)

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Poll synchronously until a round fetches nothing and no batch is buffered or being retried.

        Batching windows are honoured (this waits for them). ``TimeoutError`` after ``timeout``.
        """
        if not self.spec.enabled:
            return
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: not idle after {timeout}s ({self.status()})")
            progress = self.poll_once()
            if not progress and not self._busy():
                return
            if not progress:
                time.sleep(0.01)  # waiting for a batching window

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        """A snapshot for a status display (safe to call from another thread)."""
        shards = list(self._shards.items())  # C-level copy: atomic under the GIL
        return {
            "name": self.name,
            "kind": self.spec.kind,
            "function": self.spec.function_logical_id,
            "stream_arn": self.stream_arn,
            "running": self.running,
            "shards": {
                sid: {"checkpoint": s.checkpoint, "ended": s.ended, "pending": len(s.unresolved)} for sid, s in shards
            },
            **self.counters.snapshot(),
        }
