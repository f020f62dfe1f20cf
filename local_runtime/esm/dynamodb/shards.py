"""What the DynamoDB Streams mapping tracks per shard and per record."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from local_runtime.esm.batcher import Batcher
from local_runtime.esm.executor import Work
from local_runtime.esm.records import PendingRecord

__all__ = ["Shard", "StreamRecord"]


@dataclass(eq=False, kw_only=True)
class StreamRecord(PendingRecord):
    """One Lambda stream record read from a shard and not yet checkpointed."""

    seq: int  # the sequence number as an int, for ordering
    window_start: int | None = None  # its tumbling window (epoch seconds), when the mapping has windows

    @property
    def sequence_number(self) -> str:
        """The record's ``SequenceNumber`` as the stream reports it."""
        return self.record["dynamodb"]["SequenceNumber"]


@dataclass(eq=False)
class Shard:
    """Reading position, checkpoint and pending records of one shard."""

    shard_id: str
    parent_id: str | None
    batcher: Batcher[StreamRecord]  # filtered records not yet in a batch
    iterator: str | None = None
    started: bool = False  # an iterator was obtained at least once
    ended: bool = False  # GetRecords returned no NextShardIterator: closed and fully read
    from_horizon: bool = False  # child of a shard we processed: start at TRIM_HORIZON
    checkpoint: str | None = None  # last resolved sequence number
    saved_checkpoint: str | None = None
    last_fetched: str | None = None
    fetched_at: float = float("-inf")  # when a GetRecords last reached the end of the shard (paces polling)
    unresolved: deque[StreamRecord] = field(default_factory=deque)  # read, not checkpointed, in order
    work: deque[Work[StreamRecord]] = field(default_factory=deque)  # batches to invoke; only the head runs

    @property
    def done(self) -> bool:
        """Closed, fully read and every record resolved."""
        return self.ended and not self.unresolved and not self.work

    def advance(self) -> bool:
        """Move the checkpoint over the resolved prefix; True when it moved past the saved one."""
        while self.unresolved and self.unresolved[0].resolved:
            self.checkpoint = self.unresolved.popleft().sequence_number
        return bool(self.checkpoint) and self.checkpoint != self.saved_checkpoint
