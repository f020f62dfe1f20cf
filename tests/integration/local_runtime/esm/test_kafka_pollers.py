"""KafkaPollers: one mapping, several consumers of its group, one batch in flight per partition.

Against the suite's Tansu broker: three pollers over a three-partition topic invoke batches of different
partitions at the same time, never two batches of one partition at once, each partition in offset order,
and commit every partition to its log end.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from local_runtime.esm.kafka.pollers import KafkaPollers
from tests.integration.local_runtime.esm.test_kafka_mapping import (
    broker_committed,
    mapping,
    new_topic,
    offsets_of,
    produce,
    spec,
)

POLLERS = 3


class Overlaps:
    """An invoke callable that holds each batch briefly and records which partitions were in flight."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.invocations_now = 0
        self.most_at_once = 0  # invocations running together
        self.same_partition_twice = False
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        keys = list(event["records"])
        with self.lock:
            self.events.append(event)
            for key in keys:
                self.same_partition_twice |= self.in_flight.get(key, 0) > 0
                self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.invocations_now += 1
            self.most_at_once = max(self.most_at_once, self.invocations_now)
        time.sleep(0.3)
        with self.lock:
            self.invocations_now -= 1
            for key in keys:
                self.in_flight[key] -= 1


def test_partitions_have_their_own_batch_in_flight(kafka_bootstrap: str) -> None:
    kafka = kafka_bootstrap
    topic = new_topic(kafka, partitions=3)
    ends = produce(kafka, topic, [{"key": f"k{i}".encode(), "value": b"{}", "partition": i % 3} for i in range(90)])
    shared = spec(topic, batch_size=5, maximum_batching_window_s=0.05)
    recorder = Overlaps()
    pollers = KafkaPollers([mapping(shared, recorder, kafka) for _ in range(POLLERS)])
    pollers.start()
    try:
        deadline = time.monotonic() + 60
        while pollers.counters.records_delivered < 90 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        pollers.stop(10)
    assert pollers.counters.records_delivered == 90
    assert recorder.most_at_once >= 2, "invocations never overlapped"
    assert not recorder.same_partition_twice
    assert broker_committed(kafka, pollers.group_id) == ends
    assert pollers.committed_offsets() == {f"{topic}-{p}": off for p, off in sorted(ends.items())}
    last: dict[str, int] = {}
    for event in sorted(recorder.events, key=lambda e: min(min(o) for o in offsets_of(e).values())):
        for key, offsets in offsets_of(event).items():
            assert offsets == sorted(offsets) and offsets[0] > last.get(key, -1)
            last[key] = offsets[-1]
    status = pollers.status()
    assert status["pollers"] == 3 and status["records_delivered"] == 90 and not status["running"]


def test_pollers_are_added_while_the_lag_grows_and_removed_when_idle(kafka_bootstrap: str) -> None:
    """Lambda's on-demand scaling: one poller to start, more while the lag does not shrink (at most one per
    partition), back to one once there is no lag; nothing lost or repeated across the rebalances."""
    kafka = kafka_bootstrap
    topic = new_topic(kafka, partitions=3)
    ends = produce(kafka, topic, [{"key": f"k{i}".encode(), "value": b"{}", "partition": i % 3} for i in range(150)])
    shared = spec(topic, batch_size=5, maximum_batching_window_s=0.05)
    recorder = Overlaps()
    pollers = KafkaPollers([mapping(shared, recorder, kafka)], factory=lambda: mapping(shared, recorder, kafka),
                           maximum=3, evaluate_every_s=0.5, idle_evaluations=2, scale_up_lag=10)
    pollers.start()
    try:
        deadline = time.monotonic() + 90
        while pollers.counters.records_delivered < 150 and time.monotonic() < deadline:
            time.sleep(0.1)
        while len(pollers.pollers) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        shrunk_to = len(pollers.pollers)
    finally:
        pollers.stop(10)
    assert pollers.most_pollers >= 2, "no poller was added while the backlog waited"
    assert shrunk_to == 1
    assert not recorder.same_partition_twice
    assert broker_committed(kafka, pollers.group_id) == ends
    delivered = [o for e in recorder.events for offsets in offsets_of(e).values() for o in offsets]
    assert pollers.counters.records_delivered >= 150 and len(delivered) >= 150
