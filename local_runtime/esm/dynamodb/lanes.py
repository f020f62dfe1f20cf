"""``ParallelizationFactor`` > 1 for a DynamoDB Streams mapping: up to N batches of one shard in flight.

AWS: "When you increase the number of concurrent batches per shard, Lambda still ensures in-order
processing at the item (partition and sort key) level." Here each shard has N *lanes*; a record goes to
the lane its item key (``dynamodb.Keys``, partition and sort key) hashes to, so one item's changes always
share a lane, and each lane runs one batch at a time in sequence order with the executor's full rules
(retries, bisect, partial batch responses, on-failure destinations) applied per lane. The shard's
checkpoint is the mapping's usual one: just before the lowest sequence number not yet resolved in any lane.

Lanes with a batch ready are stepped in threads of their own. The executor and the counters are not
thread-safe, so the threads take turns under one gate that :meth:`ShardLanes.wrap` releases while the
function runs: invocations overlap, the bookkeeping around them does not.
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local_runtime.esm.batcher import Batcher
from local_runtime.esm.dynamodb.shards import Shard, StreamRecord
from local_runtime.esm.executor import Work

__all__ = ["Lane", "ShardLanes", "lane_of"]

log = logging.getLogger(__name__)


def lane_of(keys: Mapping[str, Any], lanes: int) -> int:
    """The lane (0 .. ``lanes`` - 1) of an item, from its typed ``Keys`` (stable across restarts)."""
    canonical = json.dumps(keys, sort_keys=True, separators=(",", ":"))
    return zlib.crc32(canonical.encode("utf-8")) % max(1, lanes)


@dataclass(eq=False)
class Lane:
    """Records of one lane of a shard: buffered, and the batches being invoked (only the head runs)."""

    batcher: Batcher[StreamRecord]
    work: deque[Work[StreamRecord]] = field(default_factory=deque)


class ShardLanes:
    """The lanes of every shard of one mapping."""

    def __init__(
        self,
        factor: int,
        *,
        batch_size: int,
        new_batcher: Callable[[], Batcher[StreamRecord]],
        step: Callable[[deque[Work[StreamRecord]]], None],
    ) -> None:
        """``factor`` lanes per shard; ``new_batcher`` makes a lane's batcher; ``step`` advances a work
        queue by one invocation (:meth:`BatchExecutor.step`)."""
        self.factor = max(1, int(factor))
        self._batch_size = batch_size
        self._new_batcher = new_batcher
        self._step = step
        self._lanes: dict[str, list[Lane]] = {}
        self._gate = threading.Lock()
        self._local = threading.local()

    def wrap(self, invoke: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        """``invoke`` releasing the gate while it runs, when called from a lane thread."""

        def call(event: dict[str, Any]) -> Any:
            if not getattr(self._local, "gated", False):
                return invoke(event)
            self._gate.release()
            try:
                return invoke(event)
            finally:
                self._gate.acquire()

        return call

    def lanes(self, shard_id: str) -> list[Lane]:
        """The lanes of ``shard_id`` (created on first use)."""
        if shard_id not in self._lanes:
            self._lanes[shard_id] = [Lane(self._new_batcher()) for _ in range(self.factor)]
        return self._lanes[shard_id]

    def add(self, shard_id: str, record: StreamRecord) -> None:
        """Buffer a record (not filtered out) in its item's lane."""
        keys = record.record["dynamodb"].get("Keys", {})
        self.lanes(shard_id)[lane_of(keys, self.factor)].batcher.add(record)

    def busy(self) -> bool:
        """True while any lane of any shard buffers records or has a batch to invoke."""
        return any(lane.work or len(lane.batcher) for lanes in list(self._lanes.values()) for lane in lanes)

    def poll(self, shard: Shard, fetch: Callable[[Shard], int]) -> int:
        """Read more of ``shard`` when the lanes have room, then advance every lane that has a batch due or
        being retried, concurrently. Returns records fetched plus invoked."""
        lanes = self.lanes(shard.shard_id)
        progress = 0
        for _ in range(self.factor):  # one GetRecords reads at most a batch: fill every lane
            if shard.ended or sum(len(lane.batcher) for lane in lanes) >= self._batch_size * self.factor:
                break
            fetched = fetch(shard)
            progress += fetched
            if not fetched:
                break
        ready: list[Lane] = []
        for lane in lanes:
            if not lane.work and lane.batcher.due(flush=shard.ended):
                lane.work.append(Work(lane.batcher.take()))
            if lane.work:
                progress += len(lane.work[0].records)
                ready.append(lane)
        self._run(ready)
        return progress

    def _run(self, ready: list[Lane]) -> None:
        if len(ready) <= 1:
            for lane in ready:
                self._step(lane.work)
            return
        errors: list[BaseException] = []

        def step(lane: Lane) -> None:
            self._local.gated = True
            with self._gate:
                try:
                    self._step(lane.work)
                except BaseException as exc:  # re-raised in the polling thread below
                    errors.append(exc)

        threads = [threading.Thread(target=step, args=(lane,), name="esm-ddb-lane", daemon=True) for lane in ready]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
