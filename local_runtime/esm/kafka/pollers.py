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

Scaling (with a ``factory``): Lambda's on-demand mode starts a Kafka mapping with few pollers, evaluates the
offset lag every minute and adds or removes pollers within three minutes of that ("Apache Kafka event poller
scaling modes in Lambda"). Here the mapping starts with ``minimum`` pollers and the lag is evaluated every
``evaluate_every_s`` (seconds, not minutes, so a local backlog is worked off while one waits): a lag of more
than ``scale_up_lag`` records (default: the mapping's BatchSize) that did not shrink since the last
evaluation adds a poller, up to ``maximum`` (one per partition: more would get no
partition); a lag of zero for ``idle_evaluations`` evaluations in a row removes one, down to ``minimum``.
A poller that leaves commits what it resolved; its partitions move to the others (a rebalance).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from local_runtime.esm.counters import MappingCounters
from local_runtime.esm.kafka.mapping import KafkaEventSourceMapping
from local_runtime.esm.spec import MappingSpec

__all__ = ["KafkaPollers", "poller_bounds"]

# ProvisionedPollerConfig's defaults when a bound is left out (CreateEventSourceMapping's reference).
PROVISIONED_MINIMUM, PROVISIONED_MAXIMUM = 1, 200

log = logging.getLogger(__name__)

def poller_bounds(spec: MappingSpec, partitions: int) -> tuple[int, int]:
    """How many pollers a mapping starts with and may grow to: ``(start, maximum)``.

    On-demand mode (no ``ProvisionedPollerConfig``) starts with one. Provisioned mode keeps the pollers
    between its ``MinimumPollers`` and ``MaximumPollers``. Either way a poller beyond one per partition would
    get no partition, so both are capped at ``partitions``.
    """
    partitions = max(1, partitions)
    provisioned = spec.extra.get("ProvisionedPollerConfig")
    if not isinstance(provisioned, dict):
        return 1, partitions
    low = int(provisioned.get("MinimumPollers", PROVISIONED_MINIMUM))
    high = int(provisioned.get("MaximumPollers", PROVISIONED_MAXIMUM))
    return min(max(1, low), partitions), min(max(1, low, high), partitions)


_SUMMED = [f.name for f in dataclasses.fields(MappingCounters) if f.type in ("int", int)]


class KafkaPollers:
    """Several pollers of one Kafka mapping, shown and driven as one (see the module docstring)."""

    def __init__(self, pollers: Sequence[KafkaEventSourceMapping], *,
                 factory: Callable[[], KafkaEventSourceMapping] | None = None, maximum: int | None = None,
                 evaluate_every_s: float = 5.0, idle_evaluations: int = 6, scale_up_lag: int | None = None) -> None:
        """``pollers`` start with the mapping (at least one: the minimum). With ``factory``, pollers are added
        (made by it) and removed with the lag, between ``len(pollers)`` and ``maximum``."""
        if not pollers:
            raise ValueError("a Kafka mapping needs at least one poller")
        groups = {p.group_id for p in pollers}
        if len(groups) != 1:
            raise ValueError(f"pollers of one mapping share one consumer group, got {sorted(groups)}")
        self.pollers = list(pollers)
        self.minimum = len(self.pollers)
        self.maximum = max(self.minimum, maximum or self.minimum)
        self.most_pollers = self.minimum  # the most that ran at once
        self._factory = factory
        self._evaluate_every_s = evaluate_every_s
        self._idle_evaluations = idle_evaluations
        # Each added poller costs a rebalance (every poller pauses while the group re-forms): only for a real backlog.
        self._scale_up_lag = scale_up_lag if scale_up_lag is not None else self.pollers[0].spec.batch_size
        self._retired: list[MappingCounters] = []  # counters of pollers that left (their lag excluded)
        self._retired_offsets: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._scaler: threading.Thread | None = None

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
        """The pollers' counters summed, those that left included (a fresh copy on each access)."""
        total = MappingCounters()
        with self._lock:
            current = [p.counters for p in self.pollers]
            retired = list(self._retired)
        for counters in [*current, *retired]:
            for name in _SUMMED:
                setattr(total, name, getattr(total, name) + getattr(counters, name))
            total.last_error = counters.last_error or total.last_error
            if counters.last_invoke_at is not None:
                total.last_invoke_at = max(total.last_invoke_at or 0.0, counters.last_invoke_at)
        total.lag = sum(c.lag for c in current)
        return total

    def start(self) -> None:
        """Start every poller (each joins the group; Kafka splits the partitions among them), and the scaler."""
        self._stop.clear()
        with self._lock:
            pollers = list(self.pollers)
        for poller in pollers:
            poller.start()
        if self._factory is not None and self.maximum > self.minimum:
            self._scaler = threading.Thread(target=self._scale, name=f"esm-scaler-{self.name}", daemon=True)
            self._scaler.start()

    def request_stop(self) -> None:
        """Ask every poller to stop after its current invocation, without waiting."""
        self._stop.set()
        with self._lock:
            pollers = list(self.pollers)
        for poller in pollers:
            poller.request_stop()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every poller together; ``timeout`` bounds the wait for all of them, not each."""
        self.request_stop()
        deadline = time.monotonic() + timeout
        scaler, self._scaler = self._scaler, None
        if scaler is not None:
            scaler.join(max(0.0, min(timeout, 5.0)))
        with self._lock:
            pollers = list(self.pollers)
        threads = [threading.Thread(target=p.stop, args=(timeout,), name=f"stop-{p.name}", daemon=True)
                   for p in pollers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 1.0)

    # ------------------------------------------------------------------ scaling

    def _scale(self) -> None:
        previous: int | None = None
        idle = 0
        while not self._stop.wait(self._evaluate_every_s):
            lag = self.counters.lag
            idle = idle + 1 if lag == 0 else 0
            with self._lock:
                count = len(self.pollers)
            if lag > self._scale_up_lag and previous is not None and lag >= previous and count < self.maximum:
                self._add()
                idle = 0
            elif idle >= self._idle_evaluations and count > self.minimum:
                self._remove()
                idle = 0
            previous = lag

    def _add(self) -> None:
        assert self._factory is not None
        poller = self._factory()
        with self._lock:
            if self._stop.is_set():
                return
            self.pollers.append(poller)
            self.most_pollers = max(self.most_pollers, len(self.pollers))
        poller.start()
        log.info("%s: lag not shrinking, %d pollers", self.name, len(self.pollers))

    def _remove(self) -> None:
        with self._lock:
            if self._stop.is_set() or len(self.pollers) <= self.minimum:
                return
            poller = self.pollers[-1]
        poller.stop()  # finishes its invocation, commits what it resolved, leaves the group
        with self._lock:
            self.pollers.remove(poller)
            self._retired.append(poller.counters)
            for key, offset in poller.committed_offsets().items():
                self._retired_offsets[key] = max(self._retired_offsets.get(key, offset), offset)
        log.info("%s: no lag, %d pollers", self.name, len(self.pollers))

    def committed_offsets(self) -> dict[str, int]:
        """Offsets the pollers committed, as ``{"<topic>-<partition>": offset}``."""
        with self._lock:
            merged = dict(self._retired_offsets)
            pollers = list(self.pollers)
        for poller in pollers:
            for key, offset in poller.committed_offsets().items():
                merged[key] = max(merged.get(key, offset), offset)
        return merged

    def status(self) -> dict[str, Any]:
        """One status for the mapping: counters summed, partitions of every poller."""
        with self._lock:
            pollers = list(self.pollers)
        statuses = [p.status() for p in pollers]
        merged = dict(statuses[0])
        merged.update(self.counters.snapshot())
        merged["assigned"] = sorted({tp for s in statuses for tp in s.get("assigned", [])})
        merged["running"] = any(s.get("running") for s in statuses)
        merged["pollers"] = len(pollers)
        return merged
