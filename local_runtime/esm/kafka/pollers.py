"""One Kafka mapping served by several pollers, as Lambda scales an MSK or self-managed Kafka mapping.

Lambda reads a Kafka mapping's topics with pollers that are consumers of one group (the mapping's
``ConsumerGroupId``, else its UUID) and invokes the function with at most one batch in flight per
partition: partitions progress in parallel, each one in offset order. Here each poller is a complete
:class:`~local_runtime.esm.kafka.mapping.KafkaEventSourceMapping` with its own consumer in that group, so
Kafka's group protocol hands each poller its share of the partitions and moves them when one leaves. A
poller invokes one batch at a time, so with as many pollers as partitions every partition has its own
batch in flight, and never two.

:class:`KafkaPollers` looks like one mapping to the platform: the counters are summed, the offsets and
assignments merged, start and stop act on every poller together.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from typing import Any

from local_runtime.esm.counters import MappingCounters
from local_runtime.esm.kafka.mapping import KafkaEventSourceMapping
from local_runtime.esm.spec import MappingSpec

__all__ = ["KafkaPollers"]

_SUMMED = [f.name for f in dataclasses.fields(MappingCounters) if f.type in ("int", int)]


class KafkaPollers:
    """Several pollers of one Kafka mapping, shown and driven as one (see the module docstring)."""

    def __init__(self, pollers: Sequence[KafkaEventSourceMapping]) -> None:
        if not pollers:
            raise ValueError("a Kafka mapping needs at least one poller")
        groups = {p.group_id for p in pollers}
        if len(groups) != 1:
            raise ValueError(f"pollers of one mapping share one consumer group, got {sorted(groups)}")
        self.pollers = list(pollers)

    @property
    def name(self) -> str:
        """The mapping's name (its pollers share it)."""
        return self.pollers[0].name

    @property
    def spec(self) -> MappingSpec:
        """The mapping's spec (its pollers share it)."""
        return self.pollers[0].spec

    @property
    def group_id(self) -> str:
        """The consumer group every poller belongs to."""
        return self.pollers[0].group_id

    @property
    def counters(self) -> MappingCounters:
        """The pollers' counters summed (a fresh copy on each access)."""
        total = MappingCounters()
        for poller in self.pollers:
            counters = poller.counters
            for name in _SUMMED:
                setattr(total, name, getattr(total, name) + getattr(counters, name))
            total.last_error = counters.last_error or total.last_error
            if counters.last_invoke_at is not None:
                total.last_invoke_at = max(total.last_invoke_at or 0.0, counters.last_invoke_at)
        return total

    def start(self) -> None:
        """Start every poller (each joins the group; Kafka splits the partitions among them)."""
        for poller in self.pollers:
            poller.start()

    def request_stop(self) -> None:
        """Ask every poller to stop after its current invocation, without waiting."""
        for poller in self.pollers:
            poller.request_stop()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every poller together; ``timeout`` bounds the wait for all of them, not each."""
        self.request_stop()
        deadline = time.monotonic() + timeout
        threads = [threading.Thread(target=p.stop, args=(timeout,), name=f"stop-{p.name}", daemon=True)
                   for p in self.pollers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 1.0)

    def committed_offsets(self) -> dict[str, int]:
        """Offsets the pollers committed, as ``{"<topic>-<partition>": offset}``."""
        merged: dict[str, int] = {}
        for poller in self.pollers:
            for key, offset in poller.committed_offsets().items():
                merged[key] = max(merged.get(key, offset), offset)
        return merged

    def status(self) -> dict[str, Any]:
        """One status for the mapping: counters summed, partitions of every poller."""
        statuses = [p.status() for p in self.pollers]
        merged = dict(statuses[0])
        merged.update(self.counters.snapshot())
        merged["assigned"] = sorted({tp for s in statuses for tp in s.get("assigned", [])})
        merged["running"] = any(s.get("running") for s in statuses)
        merged["pollers"] = len(self.pollers)
        return merged
