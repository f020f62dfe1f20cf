"""Kafka topics a template's mappings need: the topics they read and their ``kafka://`` on-failure topics."""

from __future__ import annotations

import time
from collections.abc import Iterable

from local_runtime.esm.spec import MappingSpec

__all__ = ["create_kafka_topics", "kafka_topics"]


def kafka_topics(mappings: Iterable[MappingSpec]) -> list[str]:
    """Topics the Kafka mappings read, then the ``kafka://`` on-failure topics, without duplicates."""
    topics: list[str] = []
    for spec in mappings:
        if spec.kind in ("MSK", "SelfManagedKafka"):
            topics.extend(spec.topics)
    for spec in mappings:
        if spec.on_failure is not None and spec.on_failure.kind == "kafka":
            topics.append(spec.on_failure.target)
    return list(dict.fromkeys(topics))


def create_kafka_topics(bootstrap_servers: str, topics: Iterable[str], *, partitions: int = 3,
                        replication_factor: int = 1, timeout_s: float = 30.0) -> dict[str, str]:
    """Create topics (idempotent). Returns ``{topic: "created" | "exists"}``; waits until the broker's
    metadata lists them all, so a consumer subscribing next sees its partitions."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return {}
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=replication_factor) for t in wanted],
        operation_timeout=timeout_s, request_timeout=timeout_s)
    result: dict[str, str] = {}
    for topic, future in futures.items():
        try:
            future.result(timeout=timeout_s)
            result[topic] = "created"
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            result[topic] = "exists"
    deadline = time.monotonic() + timeout_s
    while True:
        listed = admin.list_topics(timeout=max(1.0, deadline - time.monotonic())).topics
        if all(t in listed and listed[t].partitions for t in wanted):
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics {wanted} not visible in broker metadata after {timeout_s}s")
        time.sleep(0.1)
