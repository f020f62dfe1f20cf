"""Simulated merchants, warehouses and carriers producing shipment and warehouse events to Kafka.

``simulate(sink, rate=..., count=...)`` runs it (see :mod:`.run`); ``MERCHANTS`` / ``merchant_records()``
describe the merchants so the local runtime can seed ``MerchantsTable`` and API keys; ``MemorySink``
captures messages without Kafka and ``KafkaSink`` produces with confluent-kafka.
"""

from local_runtime.simulator.noise import POISON_KINDS, NoiseShares
from local_runtime.simulator.producer import JsonLinesSink, KafkaSink, MemorySink, NullSink, SentRecord, Sink, TeeSink
from local_runtime.simulator.run import DEFAULT_TOPICS, PoisonRecord, SimClock, Summary, main, simulate
from local_runtime.simulator.world import MERCHANTS, MERCHANTS_BY_ID, Merchant, merchant_records

__all__ = [
    "DEFAULT_TOPICS",
    "MERCHANTS",
    "MERCHANTS_BY_ID",
    "POISON_KINDS",
    "JsonLinesSink",
    "KafkaSink",
    "MemorySink",
    "Merchant",
    "NoiseShares",
    "NullSink",
    "PoisonRecord",
    "SentRecord",
    "SimClock",
    "Sink",
    "Summary",
    "TeeSink",
    "main",
    "merchant_records",
    "simulate",
]
