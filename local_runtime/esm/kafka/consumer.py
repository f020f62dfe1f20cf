"""The confluent-kafka side of the Kafka mapping: consumer settings, the on-failure producer,
``AT_TIMESTAMP`` starting positions and cached watermarks. confluent_kafka is imported lazily so the
rest of the package imports without it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from local_runtime.esm.kafka.partitions import TP
from local_runtime.esm.spec import MappingSpec

__all__ = ["cached_watermarks", "consumer_config", "make_producer", "start_at_timestamp"]

RDKAFKA_LOGGER = "local_runtime.esm.kafka.mapping.rdkafka"


def consumer_config(
    spec: MappingSpec, bootstrap_servers: Sequence[str], group_id: str, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """librdkafka settings of the mapping's group consumer (``overrides`` win)."""
    start = spec.starting_position.upper()
    conf: dict[str, Any] = {
        "bootstrap.servers": ",".join(bootstrap_servers),
        "group.id": group_id,
        "client.id": f"lambda-esm-{spec.function_logical_id}-{spec.name}",
        # Offsets are committed by the mapping, only over resolved records.
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "session.timeout.ms": 6000,
        # librdkafka's default heartbeat (3 s) is half the session; a third or less rides out a
        # slow coordinator answer without the group expiring the member.
        "heartbeat.interval.ms": 1000,
        # Retrying a batch can take long without polling; the session (heartbeats) still proves
        # liveness, so allow long gaps between polls instead of being kicked out of the group.
        "max.poll.interval.ms": 3_600_000,
        # StartingPosition applies only when the group has no committed offset, exactly like this.
        "auto.offset.reset": "latest" if start == "LATEST" else "earliest",
        "enable.partition.eof": False,
    }
    conf.update(overrides)
    return conf


def new_consumer(conf: Mapping[str, Any]) -> Any:
    """A ``confluent_kafka.Consumer`` logging through the standard ``logging`` module."""
    from confluent_kafka import Consumer

    return Consumer(dict(conf), logger=logging.getLogger(RDKAFKA_LOGGER))


def make_producer(bootstrap_servers: Sequence[str]) -> Any:
    """A producer for ``kafka://`` on-failure destinations (no lingering: records go out at once)."""
    from confluent_kafka import Producer

    return Producer({"bootstrap.servers": ",".join(bootstrap_servers), "linger.ms": 0})


def start_at_timestamp(consumer: Any, partitions: list[Any], ts_ms: int) -> list[TP]:
    """Point the newly assigned ``partitions`` without a committed offset at the first record at or after
    ``ts_ms`` (``AT_TIMESTAMP``), then assign them. Returns the partitions whose records before
    ``ts_ms`` must still be skipped: some brokers (Tansu) answer ListOffsets-by-time with an earlier
    offset, while Kafka's contract is "first offset with timestamp >= ts"."""
    from confluent_kafka import OFFSET_END, TopicPartition

    skip: list[TP] = []
    committed = consumer.committed(partitions, timeout=10)
    fresh = [tp for tp in committed if tp.offset < 0]
    if fresh:
        found = consumer.offsets_for_times([TopicPartition(tp.topic, tp.partition, ts_ms) for tp in fresh], timeout=10)
        by_tp = {(tp.topic, tp.partition): tp.offset for tp in found}
        for tp in partitions:
            key = (tp.topic, tp.partition)
            if key in by_tp:
                tp.offset = by_tp[key] if by_tp[key] >= 0 else OFFSET_END
                skip.append(key)
    consumer.assign(partitions)
    return skip


def cached_watermarks(consumer: Any, tp: TP) -> tuple[int, int] | None:
    """(low, high) watermark of ``tp`` from the consumer's cache, ``None`` until the first fetch response.

    The cached values come with every fetch response, so they are fresh while we consume. A broker
    query (cached=False) costs ~0.5 s per partition on Tansu and under-reports the high watermark after
    multi-record batches.
    """
    from confluent_kafka import TopicPartition

    try:
        lo, hi = consumer.get_watermark_offsets(TopicPartition(*tp), cached=True)
    except Exception:
        return None
    if lo < 0 or hi < 0:
        return None
    return lo, hi
