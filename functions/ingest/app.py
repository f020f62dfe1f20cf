"""Ingest function: a Kafka batch (MSK or self-managed) -> shipment, timeline and warehouse state.

Poison records go to the dead-letter table with their reason and are not retried; records whose
state could not be stored are named in the partial batch response so Kafka delivers them again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from logistics.adapters.batch_response import BatchResponse, kafka_batch_response
from logistics.adapters.kafka_records import inbound_records
from logistics.bootstrap import build_ingestor

logger = Logger()
metrics = Metrics()
ingestor = build_ingestor()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> BatchResponse:
    """Ingest the batch; returns the Kafka partial batch response naming the records to deliver again."""
    result = ingestor.ingest(inbound_records(event))
    metrics.add_metric("EventsStored", MetricUnit.Count, result.stored_events)
    metrics.add_metric("EventsDeadLettered", MetricUnit.Count, result.dead_lettered)
    metrics.add_metric("RecordsFailed", MetricUnit.Count, len(result.failed))
    return kafka_batch_response(event, context, set(result.failed))
