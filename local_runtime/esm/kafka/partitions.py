"""Per-partition bookkeeping of the Kafka mapping: what is assigned, which consumed records are still
unresolved, how far each partition was consumed and committed, and the lag derived from that.

The committed offset of a partition is always its first unresolved offset, so a restart re-delivers
exactly the records that were not resolved (processed, filtered or sent to the on-failure destination).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from local_runtime.esm.kafka.events import KafkaMessage, partition_key
from local_runtime.esm.records import PendingRecord

__all__ = ["TP", "PartitionBook", "PendingMessage", "Watermarks"]

TP = tuple[str, int]  # (topic, partition)
Watermarks = Callable[[TP], "tuple[int, int] | None"]  # (low, high) of a partition, None while unknown


@dataclass(eq=False, kw_only=True)
class PendingMessage(PendingRecord):
    """One consumed Kafka record waiting to be resolved."""

    msg: KafkaMessage

    @property
    def tp(self) -> TP:
        """(topic, partition) of the message."""
        return (self.msg.topic, self.msg.partition)

    @property
    def key(self) -> str:
        """The event's ``records`` key, ``"<topic>-<partition>"``."""
        return partition_key(self.msg.topic, self.msg.partition)


class PartitionBook:
    """Assigned partitions, their unresolved records in offset order and their positions."""

    def __init__(self) -> None:
        """Start with nothing assigned."""
        self.assigned: set[TP] = set()
        self.unresolved: dict[TP, deque[PendingMessage]] = {}
        self.fetch_pos: dict[TP, int] = {}  # next offset after the last consumed one
        self.committed: dict[TP, int] = {}  # what we last committed (kept when a partition goes)
        self.skip_before_ts: dict[TP, int] = {}  # AT_TIMESTAMP refinement (see consumer.start_at_timestamp)

    def consumed(self, msg: KafkaMessage) -> bool:
        """Note that ``msg`` was consumed; False when it precedes the ``AT_TIMESTAMP`` start (skip it)."""
        tp = (msg.topic, msg.partition)
        self.fetch_pos[tp] = msg.offset + 1
        skip_ts = self.skip_before_ts.get(tp)
        if skip_ts is not None:
            if 0 <= msg.timestamp_ms < skip_ts:
                return False
            del self.skip_before_ts[tp]
        return True

    def track(self, pending: PendingMessage) -> None:
        """Keep ``pending`` unresolved until it is resolved (it holds back its partition's commit)."""
        self.unresolved.setdefault(pending.tp, deque()).append(pending)

    def forget(self, tps: Iterable[TP]) -> None:
        """Drop revoked or lost partitions (their committed offsets stay known)."""
        for tp in tps:
            self.unresolved.pop(tp, None)
            self.fetch_pos.pop(tp, None)
            self.skip_before_ts.pop(tp, None)
            self.assigned.discard(tp)

    def to_commit(self, only: set[TP] | None = None) -> dict[TP, int]:
        """Offsets to commit: per partition its first unresolved offset (the fetch position when all is
        resolved), where that differs from what was committed. ``only`` limits the partitions."""
        offsets: dict[TP, int] = {}
        for tp in list(self.unresolved) + [tp for tp in self.fetch_pos if tp not in self.unresolved]:
            if only is not None and tp not in only:
                continue
            q = self.unresolved.get(tp)
            while q and q[0].resolved:
                q.popleft()
            pos = q[0].msg.offset if q else self.fetch_pos.get(tp)
            if pos is not None and pos != self.committed.get(tp):
                offsets[tp] = pos
        return offsets

    def position(self, tp: TP) -> int | None:
        """The first offset of ``tp`` not yet resolved, as far as known."""
        q = self.unresolved.get(tp)
        if q:
            return q[0].msg.offset
        if tp in self.fetch_pos:
            return self.fetch_pos[tp]
        return self.committed.get(tp)

    def lag(self, watermarks: Watermarks, *, latest: bool) -> int:
        """Records behind the end of the assigned partitions (``latest``: StartingPosition LATEST)."""
        lag = 0
        for tp in list(self.assigned):
            wm = watermarks(tp)
            if wm is None:
                continue
            lo, hi = wm
            pos = self.position(tp)
            if pos is None:
                pos = hi if latest else lo
            lag += max(0, hi - pos)
        return lag

    def caught_up(self, watermarks: Watermarks, *, latest: bool) -> bool:
        """True when every assigned partition is resolved up to its end."""
        for tp in list(self.assigned):
            wm = watermarks(tp)
            if wm is None:
                return False
            lo, hi = wm
            pos = self.position(tp)
            if pos is None:
                if latest:
                    continue  # nothing consumed yet and starting at the end: nothing to catch up on
                pos = lo
            if pos < hi:
                return False
        return True

    def committed_by_key(self) -> dict[str, int]:
        """Committed offsets as ``{"<topic>-<partition>": offset}``."""
        return {partition_key(*tp): off for tp, off in sorted(self.committed.items())}
