"""Ingest function: a Kafka batch (MSK or self-managed) -> shipment, timeline and warehouse state.

Poison records go to the dead-letter table with their reason and are not retried; records whose
state could not be stored are named in the partial batch response so Kafka delivers them again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord

from logistics.adapters.kafka_records import inbound_records, record_id
from logistics.bootstrap import build_ingestor

logger = Logger()
metrics = Metrics()
ingestor = build_ingestor()


class RecordNotStored(Exception):
    """The record's state write failed after retries; Kafka must deliver it again."""


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = ingestor.ingest(inbound_records(event))
    metrics.add_metric("EventsStored", MetricUnit.Count, result.stored_events)
    metrics.add_metric("EventsDeadLettered", MetricUnit.Count, result.dead_lettered)
    metrics.add_metric("RecordsFailed", MetricUnit.Count, len(result.failed))
    failed = set(result.failed)

    def check(record: KafkaEventRecord) -> None:
        if record_id(record.topic, record.partition, record.offset) in failed:
            raise RecordNotStored(f"{record.topic}-{record.partition}@{record.offset}")

    return process_partial_response(
        event=event,
        record_handler=check,
        processor=BatchProcessor(EventType.Kafka, raise_on_entire_batch_failure=False),
        context=context,
    )
