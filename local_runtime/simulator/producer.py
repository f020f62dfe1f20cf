"""Where simulated messages go: Kafka (confluent-kafka), memory (tests), a JSON-lines file, or several.

Every sink has the same small interface (:class:`Sink`): ``send`` one message, ``poll`` to serve
callbacks, ``flush`` before the end. The Kafka sink keys each message by shipment id or warehouse id, so
the default partitioner puts all events of one entity in one partition, in production order.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, runtime_checkable

Headers = Sequence[tuple[str, bytes]]

# Tuned for throughput on a local broker and still right for MSK:
DEFAULT_PRODUCER_CONFIG: dict[str, Any] = {
    "client.id": "logistics-simulator",
    "acks": "all",
    # Wait up to 10 ms to fill batches: a simulator wants throughput, not per-message latency.
    "linger.ms": 10,
    "batch.size": 1_000_000,
    "batch.num.messages": 10_000,
    # lz4 is cheap on CPU; measured ~1.6x the throughput of no compression on Tansu.
    "compression.type": "lz4",
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 512 * 1024,
    # The idempotent producer is ~5x slower against Tansu; without it, one request in flight per
    # connection keeps each partition in production order even when a request is retried.
    "enable.idempotence": False,
    "max.in.flight.requests.per.connection": 1,
    # Same key -> partition mapping as the Java client (murmur2), so other producers of these
    # topics (feeds, replays) agree on where an entity's events live.
    "partitioner": "murmur2_random",
}


@runtime_checkable
class Sink(Protocol):
    """Where the simulator sends messages."""

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Headers) -> None: ...

    def poll(self, timeout: float = 0.0) -> None: ...

    def flush(self, timeout: float = 30.0) -> int:
        """Deliver what is buffered; returns how many messages are still undelivered."""
        ...


@dataclass(frozen=True)
class SentRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


class MemorySink:
    """Keeps every message in order (tests, dry runs)."""

    def __init__(self) -> None:
        self.records: list[SentRecord] = []

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Headers) -> None:
        self.records.append(SentRecord(topic, key, value, tuple(headers)))

    def poll(self, timeout: float = 0.0) -> None:
        return None

    def flush(self, timeout: float = 30.0) -> int:
        return 0


class NullSink:
    """Discards messages (measuring the generator alone)."""

    sent = 0

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Headers) -> None:
        self.sent += 1

    def poll(self, timeout: float = 0.0) -> None:
        return None

    def flush(self, timeout: float = 30.0) -> int:
        return 0


class JsonLinesSink:
    """One JSON object per message: topic, key, value (text when UTF-8, else ``value_b64``), headers."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    @classmethod
    def open(cls, path: str) -> JsonLinesSink:
        return cls(sys.stdout if path == "-" else open(path, "w", encoding="utf-8"))

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Headers) -> None:
        record: dict[str, Any] = {"topic": topic, "key": key.decode() if key is not None else None}
        try:
            record["value"] = value.decode()
        except UnicodeDecodeError:
            record["value_b64"] = base64.b64encode(value).decode()
        record["headers"] = {k: v.decode(errors="replace") for k, v in headers}
        self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")

    def poll(self, timeout: float = 0.0) -> None:
        return None

    def flush(self, timeout: float = 30.0) -> int:
        self.stream.flush()
        return 0

    def close(self) -> None:
        if self.stream is not sys.stdout:
            self.stream.close()


class TeeSink:
    """Sends every message to several sinks (e.g. Kafka and a recording for a test)."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Headers) -> None:
        for sink in self.sinks:
            sink.send(topic, key, value, headers)

    def poll(self, timeout: float = 0.0) -> None:
        for sink in self.sinks:
            sink.poll(timeout)

    def flush(self, timeout: float = 30.0) -> int:
        return sum(sink.flush(timeout) for sink in self.sinks)


@dataclass
class DeliveryStats:
    """Delivery reports counted by the Kafka sink (callbacks run on the thread that polls)."""

    delivered: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    partitions: Counter[tuple[str, int]] = field(default_factory=Counter)


class KafkaSink:
    """confluent-kafka producer with delivery-report counting.

    Pass ``bootstrap_servers`` (and optional config overrides) or an existing ``Producer``. Use as a
    context manager, or call :meth:`close`, so buffered messages are flushed on exit.
    """

    def __init__(self, bootstrap_servers: str | None = None, *, config: Mapping[str, Any] | None = None,
                 producer: Any = None) -> None:
        if producer is None:
            from confluent_kafka import Producer  # imported here: memory-only users need no librdkafka

            if not bootstrap_servers:
                raise ValueError("bootstrap_servers is required when no producer is given")
            producer = Producer({**DEFAULT_PRODUCER_CONFIG, "bootstrap.servers": bootstrap_servers,
                                 **(config or {})})
        self.producer = producer
        self.stats = DeliveryStats()
        self._lock = threading.Lock()

    def _on_delivery(self, err: Any, msg: Any) -> None:
        with self._lock:
            if err is not None:
                self.stats.failed += 1
                self.stats.errors[str(err.name() if hasattr(err, "name") else err)] += 1
            else:
                self.stats.delivered += 1
                self.stats.partitions[(msg.topic(), msg.partition())] += 1

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Headers) -> None:
        # No explicit timestamp: the record gets CreateTime = now. Simulated occurrence times can be
        # weeks old, and a mapping's MaximumRecordAgeInSeconds judges records by this timestamp.
        while True:
            try:
                self.producer.produce(topic, value=value, key=key, headers=list(headers),
                                      on_delivery=self._on_delivery)
                return
            except BufferError:
                # The local queue is full: let librdkafka send and serve callbacks, then retry.
                self.producer.poll(0.05)

    def poll(self, timeout: float = 0.0) -> None:
        self.producer.poll(timeout)

    def flush(self, timeout: float = 30.0) -> int:
        return self.producer.flush(timeout)

    def close(self, timeout: float = 30.0) -> int:
        return self.flush(timeout)

    def __enter__(self) -> KafkaSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RegistrySink:
    """Serializes every value with the Glue Schema Registry (``serializer``: anything with
    ``serialize(bytes) -> bytes`` raising ``ValueError`` with the reason) before passing it on.

    A value the serializer refuses is the simulator's poison share: it is counted in ``refused`` (with the
    reasons) and, when ``send_refused_raw`` (the default), still sent raw, unframed, as an old or rogue
    producer would; a mapping with SchemaRegistryConfig then sends it to its on-failure destination.
    With ``topics``, only values for those topics are serialized (others are sent as they are).
    """

    def __init__(self, inner: Sink, serializer: Any, *, send_refused_raw: bool = True,
                 topics: Collection[str] | None = None) -> None:
        self.inner = inner
        self.serializer = serializer
        self.send_refused_raw = send_refused_raw
        self.topics = None if topics is None else frozenset(topics)
        self.framed = 0
        self.refused: Counter[str] = Counter()

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Headers) -> None:
        if self.topics is not None and topic not in self.topics:
            self.inner.send(topic, key, value, headers)
            return
        try:
            framed = self.serializer.serialize(value)
        except ValueError as exc:
            self.refused[str(exc)[:200]] += 1
            if self.send_refused_raw:
                self.inner.send(topic, key, value, headers)
            return
        self.framed += 1
        self.inner.send(topic, key, framed, headers)

    def poll(self, timeout: float = 0.0) -> None:
        self.inner.poll(timeout)

    def flush(self, timeout: float = 30.0) -> int:
        return self.inner.flush(timeout)


def as_sink(target: Any) -> Sink:
    """Accept a sink, a confluent-kafka ``Producer`` or a bootstrap-servers string."""
    if isinstance(target, str):
        return KafkaSink(target)
    if hasattr(target, "send") and hasattr(target, "flush") and hasattr(target, "poll"):
        return target
    if hasattr(target, "produce"):
        return KafkaSink(producer=target)
    raise TypeError(f"not a sink or producer: {target!r}")
