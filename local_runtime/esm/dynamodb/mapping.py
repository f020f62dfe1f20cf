"""Local emulation of a Lambda DynamoDB Streams event-source mapping (docs/AWS_EVENT_SOURCES.md).

It polls ``dynamodbstreams`` itself (DescribeStream -> GetShardIterator -> GetRecords), because moto's own
Lambda mappings fire inside the write and need Docker. Batching, retries, bisect, partial responses,
record age and on-failure destinations are shared with the Kafka mapping (:mod:`local_runtime.esm`);
what is the stream's own, per shard in sequence-number order:

* batches also close when the shard ends (``MaximumBatchingWindowInSeconds`` defaults to 0: as soon as
  records are there);
* ``FilterCriteria`` apply to the Lambda record (``eventName``, ``dynamodb`` with typed images, ...);
  filtered records are checkpointed and never invoked;
* ``ReportBatchItemFailures``: ``itemIdentifier`` is a SequenceNumber; the checkpoint moves to just
  before the LOWEST reported one and the batch is retried from there; an unknown identifier fails the
  whole batch;
* ``MaximumRetryAttempts`` -1 is really infinite (the cap of 10 with a destination is Kafka's rule), and
  the destination is SQS, SNS or S3;
* shards are processed parent first: a child shard starts (at TRIM_HORIZON) only once its parent is
  finished; shards are re-listed periodically.

Checkpoints (the last resolved sequence number per shard) live in memory and, optionally, in a
:class:`CheckpointStore` so a restarted mapping resumes right after them: nothing lost, nothing
reprocessed. For ``LATEST`` the store also remembers when the mapping first started, so a restart with
no checkpoint yet does not skip records written while it was down (see :meth:`_start_iterator`).

``TumblingWindowInSeconds`` adds AWS's window fields and state to events, with final invocations and
checkpoints at window ends (:mod:`~local_runtime.esm.dynamodb.windows`); ``ParallelizationFactor`` > 1 runs
up to that many batches of a shard at once, one lane per item key (:mod:`~local_runtime.esm.dynamodb.lanes`).
Both at once is not emulated (windows then run one batch per shard at a time).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from local_runtime.esm.batcher import Batcher
from local_runtime.esm.dynamodb.checkpoints import CheckpointStore, JsonFileCheckpointStore, MemoryCheckpointStore
from local_runtime.esm.dynamodb.events import build_stream_event, build_stream_on_failure_record, build_stream_record
from local_runtime.esm.dynamodb.lanes import ShardLanes
from local_runtime.esm.dynamodb.shards import Shard, StreamRecord
from local_runtime.esm.dynamodb.windows import TumblingWindows, WindowedBatcher
from local_runtime.esm.executor import Work
from local_runtime.esm.filtering import EventFilter
from local_runtime.esm.mapping import EventSourceMapping
from local_runtime.esm.on_failure import FailureFields
from local_runtime.esm.payload import json_size
from local_runtime.esm.responses import MalformedBatchResponse, batch_item_identifiers
from local_runtime.esm.spec import MappingSpec

__all__ = [
    "CheckpointStore",
    "DynamoDBStreamMapping",
    "JsonFileCheckpointStore",
    "MemoryCheckpointStore",
    "deployed_stream_arn",
]

log = logging.getLogger(__name__)

_GET_RECORDS_MAX = 1000  # DynamoDB Streams GetRecords limit


def deployed_stream_arn(stream_arn: str, region: str, account_id: str) -> str:
    """``stream_arn`` with the deployment's region and account (``arn:aws:dynamodb:<region>:<account>:table/...``)."""
    parts = stream_arn.split(":", 5)
    if len(parts) < 6:
        return stream_arn
    return ":".join([*parts[:3], region, account_id, parts[5]])


class DynamoDBStreamMapping(EventSourceMapping[StreamRecord]):
    """Emulates one ``DynamoDB`` event-source mapping (a stream to a function)."""

    thread_prefix = "esm-ddb"
    sync_pause_s = 0.01  # poll_once never waits by itself

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
        get_records_interval_s: float = 0.25,
        shard_refresh_s: float = 10.0,
        window_close_delay_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Configure the mapping; nothing is called until ``start()`` or ``poll_once()``.

        ``streams_client`` is a boto3 ``dynamodbstreams`` client. ``region`` is what records report as
        ``awsRegion`` (the deployment region; defaults to the stream ARN's region). ``stream_arn``
        overrides ``spec.stream_arn``. ``poll_interval_s`` is the pause of the background loop when a
        poll found nothing (AWS polls each shard about 4 times a second); ``get_records_interval_s`` the least
        time between two GetRecords on one shard (the same 4 a second). ``window_close_delay_s``: with
        ``TumblingWindowInSeconds``, how long past its end a window that got no newer record is closed
        (AWS waits up to 2 minutes). ``retry_backoff_s``,
        ``max_retry_backoff_s`` and ``clock`` are described in :class:`~local_runtime.esm.mapping.EventSourceMapping`.
        """
        if spec.kind != "DynamoDB":
            raise ValueError(f"{spec.name}: not a DynamoDB stream mapping ({spec.kind})")
        arn = stream_arn or spec.stream_arn
        if not arn:
            raise ValueError(f"{spec.name}: no stream ARN (deploy resolves it from the table)")
        if spec.on_failure is not None and spec.on_failure.kind == "kafka":
            raise ValueError(f"{spec.name}: a Kafka on-failure destination is only valid for Kafka sources")
        self.stream_arn = arn
        self.region = region or arn.split(":")[3]
        default_arn = f"arn:aws:lambda:{self.region}:{arn.split(':')[4]}:function:{spec.function_logical_id}"
        clients = {"sqs_client": sqs_client, "sns_client": sns_client, "s3_client": s3_client}
        backoff = (retry_backoff_s, max_retry_backoff_s)
        # What records and on-failure records name: the stream in the function's region and account, as on
        # AWS (DynamoDB Local's own ARNs read "ddblocal:000000000000").
        self.event_source_arn = deployed_stream_arn(arn, self.region, (function_arn or default_arn).split(":")[4])
        self._windows: TumblingWindows | None = None
        self._lanes: ShardLanes | None = None
        factor = int(spec.parallelization_factor)
        if spec.tumbling_window_s > 0 and factor > 1:
            log.warning("%s: ParallelizationFactor %d with a tumbling window is not emulated: one batch per shard",
                        spec.name, factor)
            factor = 1
        if factor > 1:
            self._lanes = ShardLanes(factor, batch_size=max(1, int(spec.batch_size)), new_batcher=self._new_batcher,
                                     step=lambda work: self._executor.step(work))
            invoke = self._lanes.wrap(invoke)
        function_invoke = invoke
        if spec.tumbling_window_s > 0:
            invoke = self._windowed_invoke  # checks the state of every windowed response
        super().__init__(spec, invoke, function_arn or default_arn, clients, backoff=backoff, clock=clock)
        if spec.tumbling_window_s > 0:
            self._windows = TumblingWindows(
                spec.tumbling_window_s, invoke=function_invoke, event_source_arn=self.event_source_arn,
                counters=self.counters, report_batch_item_failures=spec.report_batch_item_failures,
                sleep_backoff=self._executor.sleep_backoff, stop=self._stop, clock=clock,
                close_delay_s=window_close_delay_s)
        self._client = streams_client
        self._store = checkpoint_store
        self.idle_wait_s = poll_interval_s
        self._get_records_interval_s = get_records_interval_s
        self._paced = False  # set by start(): the background loop
        self._shard_refresh = shard_refresh_s
        self._filter = EventFilter(spec.filter_patterns)
        self._shards: dict[str, Shard] = {}
        self._shards_listed_at = -1e9
        self._current: Shard | None = None  # shard whose batch the executor is working on

    def _windowed_invoke(self, event: dict[str, Any]) -> Any:
        assert self._windows is not None
        return self._windows.checked_invoke(event)

    def _new_batcher(self, base_size: int = 256) -> Batcher[StreamRecord]:
        if self._windows is not None:
            return WindowedBatcher(self._batch_size, self._window, base_size=base_size)
        return super()._new_batcher(base_size)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Poll in a background thread, each shard read at most about four times a second at its end."""
        self._paced = True
        super().start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling after the current invocation; checkpoints of resolved records are saved.
        Records of a batch still being retried are not checkpointed (a restart retries them).

        An invocation still running after ``timeout`` seconds is not waited for: its records are not
        checkpointed, unless it completes (the poll thread then saves the checkpoints itself)."""
        if self._stop_loop(timeout):
            self._finish_stop()

    def _finish_stop(self) -> None:
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
                    shard = Shard(shard_id=sid, parent_id=sh.get("ParentShardId"), batcher=self._new_batcher())
                    if self._store is not None:
                        saved = self._store.load(self._store_key(sid)) or {}
                        shard.checkpoint = shard.saved_checkpoint = saved.get("sequence_number")
                    self._shards[sid] = shard
            last = desc.get("LastEvaluatedShardId")
            if not last:
                break
            kwargs["ExclusiveStartShardId"] = last

    def _ready(self, shard: Shard) -> bool:
        if shard.done:
            return False
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        if parent is None:
            return True  # no parent, or one already trimmed from the stream
        if parent.done:
            shard.from_horizon = True
            return True
        return False

    def _start_iterator(self, shard: Shard) -> None:
        """GetShardIterator after the checkpoint, else per StartingPosition.

        LATEST and restarts: a mapping that started at LATEST but has not checkpointed anything yet would,
        on restart, start at LATEST again and skip what was written meanwhile. So the first start pins
        LATEST to a position and saves it: right after the shard's newest record at that moment, or the
        shard's start when it held none. Record times cannot do this: emulators round
        ApproximateCreationDateTime (DynamoDB Local to the minute).
        """
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        saved = self._store.load(self._store_key(shard.shard_id)) if self._store is not None else None
        if not shard.checkpoint and not shard.from_horizon and self.spec.starting_position.upper() == "LATEST":
            if saved and saved.get("latest_from_horizon"):
                shard.from_horizon = True
            else:
                shard.checkpoint = shard.saved_checkpoint = self._newest_sequence_number(shard)
                pinned = {"sequence_number": shard.checkpoint} if shard.checkpoint else {"latest_from_horizon": True}
                shard.from_horizon = not shard.checkpoint
                if self._store is not None:
                    self._store.save(self._store_key(shard.shard_id), pinned)
        if shard.checkpoint:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.checkpoint)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        shard.iterator = self._client.get_shard_iterator(**kwargs)["ShardIterator"]
        shard.started = True

    def _newest_sequence_number(self, shard: Shard) -> str | None:
        """The sequence number of the shard's newest record now (None for an empty shard)."""
        iterator = self._client.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        newest: str | None = None
        while iterator:
            page = self._client.get_records(ShardIterator=iterator, Limit=_GET_RECORDS_MAX)
            records = page.get("Records", [])
            if not records:
                break
            newest = records[-1]["dynamodb"]["SequenceNumber"]
            iterator = page.get("NextShardIterator")
        return newest

    # ------------------------------------------------------------------ records

    def _accept(self, shard: Shard, raw: Mapping[str, Any]) -> None:
        record = build_stream_record(raw, region=self.region, stream_arn=self.event_source_arn)
        seq = record["dynamodb"]["SequenceNumber"]
        shard.last_fetched = seq
        rec = StreamRecord(record=record, size=json_size(record) + 1, arrived=time.monotonic(), seq=int(seq))
        shard.unresolved.append(rec)
        self.counters.records_polled += 1
        if self._filter and not self._filter.matches(record):
            rec.resolved = True
            self.counters.records_filtered += 1
            return
        if self._windows is not None:
            self._windows.assign(shard.shard_id, rec)
        if self._lanes is not None:
            self._lanes.add(shard.shard_id, rec)
        else:
            shard.batcher.add(rec)

    def _fetch(self, shard: Shard) -> int:
        # At the end of the shard, Lambda reads it about four times a second; so does this, rather than spinning
        # on GetRecords while records trickle in (each call costs the emulator and this process a JSON parse).
        # Behind (the last read filled its Limit), it reads on at once. Only the background loop is paced: the
        # synchronous drivers (poll_once, run_until_idle) read whenever they are asked to.
        now = time.monotonic()
        if self._paced and now - shard.fetched_at < self._get_records_interval_s:
            return 0
        if shard.iterator is None:
            self._start_iterator(shard)
        limit = min(_GET_RECORDS_MAX, shard.batcher.room())
        try:
            resp = self._client.get_records(ShardIterator=shard.iterator, Limit=limit)
        except (self._client.exceptions.ExpiredIteratorException,
                self._client.exceptions.TrimmedDataAccessException):
            # Iterators expire after 15 minutes; an iterator whose position was trimmed (AWS: past the 24 h
            # retention; DynamoDB Local: an empty shard's TRIM_HORIZON once other tables advanced the shared
            # sequence, see docs/LOCAL_DYNAMODB.md) is taken again: right after the last record read, else
            # at the shard's oldest record.
            kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
            after = shard.last_fetched or shard.checkpoint
            if after:
                kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
            else:
                kwargs["ShardIteratorType"] = "TRIM_HORIZON"
            shard.iterator = self._client.get_shard_iterator(**kwargs)["ShardIterator"]
            return 0
        records = resp.get("Records", [])
        shard.fetched_at = now if len(records) < limit else float("-inf")
        for raw in records:
            self._accept(shard, raw)
        shard.iterator = resp.get("NextShardIterator")
        if shard.iterator is None:
            shard.ended = True
        return len(records)

    # ------------------------------------------------------------------ executor hooks

    def _build_event(self, records: list[StreamRecord]) -> dict[str, Any]:
        event = build_stream_event(r.record for r in records)
        if self._windows is not None and records:
            assert self._current is not None  # the executor only builds events while a shard is worked on
            event = self._windows.decorate(event, self._current.shard_id, records)
        return event

    def _record_time_ms(self, record: StreamRecord) -> float | None:
        created = record.record["dynamodb"].get("ApproximateCreationDateTime")
        return None if created is None else float(created) * 1000

    def _remaining_after_partial(self, response: Any, records: list[StreamRecord]) -> list[StreamRecord]:
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

    def _on_failure_record(
        self, records: list[StreamRecord], fields: FailureFields, include_payload: bool
    ) -> dict[str, Any]:
        return build_stream_on_failure_record(
            [r.record for r in records],
            shard_id=self._source_part(records),
            stream_arn=self.event_source_arn,
            function_arn=self.function_arn,
            include_payload=include_payload,
            **fields,
        )

    def _source_part(self, records: list[StreamRecord]) -> str:
        assert self._current is not None  # the executor only disposes while a shard is being worked on
        return self._current.shard_id

    # ------------------------------------------------------------------ checkpoints

    def _advance(self, shard: Shard) -> None:
        """Move the checkpoint over the resolved prefix of the shard (with windows: not into the open
        window) and persist it."""
        moved = self._windows.advance(shard) if self._windows is not None else shard.advance()
        if moved and self._store is not None:
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
                if self._lanes is not None:
                    progress += self._lanes.poll(shard, self._fetch)
                elif shard.work:
                    progress += len(shard.work[0].records)
                    self._executor.step(shard.work)
                else:
                    if not shard.ended and len(shard.batcher) < self._batch_size:
                        progress += self._fetch(shard)
                    if self._windows is not None and self._windows.maybe_close(shard, pending=bool(shard.work)):
                        progress += 1
                    elif shard.batcher.due(flush=shard.ended):
                        batch = shard.batcher.take()
                        shard.work.append(Work(batch))
                        progress += len(batch)
                        self._executor.step(shard.work)
                self._advance(shard)
            self._current = None
            self.counters.lag = sum(len(s.unresolved) for s in self._shards.values())
            return progress

    def _busy(self) -> bool:
        if self._lanes is not None and self._lanes.busy():
            return True
        if self._windows is not None and any(self._windows.open_window(sid) for sid in list(self._shards)):
            return True  # a window is open until its final invocation
        return any(s.work or s.batcher for s in list(self._shards.values()))

    # ------------------------------------------------------------------ status

    def _describe(self) -> dict[str, Any]:
        shards = list(self._shards.items())  # C-level copy: atomic under the GIL
        extra = {"windows": self._windows.describe()} if self._windows is not None else {}
        return {
            **extra,
            "stream_arn": self.stream_arn,
            "running": self.running,
            "shards": {
                sid: {"checkpoint": s.checkpoint, "ended": s.ended, "pending": len(s.unresolved)} for sid, s in shards
            },
        }
