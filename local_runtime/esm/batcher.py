"""Batching as Lambda's pollers do it: a batch closes at ``BatchSize`` records, when the
``MaximumBatchingWindowInSeconds`` counted from its first record has passed, or before the event
would pass the 6 MB payload limit (see docs/AWS_EVENT_SOURCES.md)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from local_runtime.esm.payload import MAX_PAYLOAD_BYTES
from local_runtime.esm.records import PendingRecord

__all__ = ["Batcher"]

R = TypeVar("R", bound=PendingRecord)


class Batcher(Generic[R]):
    """Records read but not yet in a batch, in arrival order, and the rules that close a batch.

    A batch is *due* when ``batch_size`` records are buffered, when the buffered records plus the event's
    own overhead (``base_size``) reach ``max_bytes``, when ``window_s`` has passed since the first
    buffered record arrived, or when the caller flushes (a shard that ended). :meth:`take` then removes
    the next batch: records in arrival order, at most ``batch_size``, stopping before the payload limit
    (but always at least one record, so an oversized record still reaches the executor, which disposes
    of it). Sizes come from :attr:`PendingRecord.size`, arrival times from :attr:`PendingRecord.arrived`
    on the ``clock`` timeline (``time.monotonic`` by default).
    """

    def __init__(
        self,
        batch_size: int,
        window_s: float,
        *,
        base_size: int = 256,
        max_bytes: int = MAX_PAYLOAD_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``batch_size`` below 1 counts as 1 and a negative ``window_s`` as 0 (close at once)."""
        self.batch_size = max(1, int(batch_size))
        self.window_s = max(0.0, float(window_s))
        self.base_size = base_size
        self.max_bytes = max_bytes
        self._clock = clock
        self._items: deque[R] = deque()
        self.buffered_bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[R]:
        return iter(self._items)

    def add(self, item: R) -> None:
        """Buffer ``item`` behind the records already waiting."""
        self._items.append(item)
        self.buffered_bytes += item.size

    def room(self) -> int:
        """How many more records would fill a batch (at least 1: reading one more is harmless)."""
        return max(1, self.batch_size - len(self._items))

    def window_closes_at(self) -> float | None:
        """When the batching window of the first buffered record ends, or ``None`` when empty."""
        return self._items[0].arrived + self.window_s if self._items else None

    def due(self, *, flush: bool = False) -> bool:
        """True when a batch should be taken now; ``flush`` closes any non-empty batch."""
        if not self._items:
            return False
        if len(self._items) >= self.batch_size or flush:
            return True
        if self.base_size + self.buffered_bytes >= self.max_bytes:
            return True
        return self._clock() >= self._items[0].arrived + self.window_s

    def take(self) -> list[R]:
        """Remove and return the next batch (empty when nothing is buffered)."""
        batch: list[R] = []
        size = self.base_size
        while self._items and len(batch) < self.batch_size:
            item = self._items[0]
            if batch and size + item.size > self.max_bytes:
                break
            self._items.popleft()
            self.buffered_bytes -= item.size
            batch.append(item)
            size += item.size
        return batch

    def discard(self, drop: Callable[[R], bool]) -> None:
        """Remove the buffered records for which ``drop`` is true (e.g. of a revoked partition)."""
        self._items = deque(item for item in self._items if not drop(item))
        self.buffered_bytes = sum(item.size for item in self._items)
