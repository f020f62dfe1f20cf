"""Notify function: ShipmentsTable stream -> one notification per real status change and channel.

A failed channel fails its stream record (reported by sequence number); the retry re-sends only
the channels that did not complete, thanks to the idempotency records.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from logistics.adapters.codec import from_attributes
from logistics.bootstrap import build_notifier
from logistics.domain.notifications import status_change
from logistics.service.notify import DeliveryFailed

logger = Logger()
metrics = Metrics()
notifier, once = build_notifier()


def changes(event: dict[str, Any]) -> list[tuple[str, Any]]:
    """(sequence number, status change) of every record that is a real change written in this region."""
    found = []
    for record in event.get("Records") or []:
        images = record["dynamodb"]
        new = from_attributes(images.get("NewImage") or {})
        change = status_change(from_attributes(images.get("OldImage") or {}) or None, new)
        if change is not None and notifier.should_handle(new):
            found.append((images["SequenceNumber"], change))
    return found


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    once.register_lambda_context(context)
    found = changes(event)
    failed = notifier.handle_batch(found)
    metrics.add_metric("StatusChanges", MetricUnit.Count, len(found))
    metrics.add_metric("NotificationFailures", MetricUnit.Count, len(failed))

    def check(record: DynamoDBRecord) -> None:
        if record.dynamodb and record.dynamodb.sequence_number in failed:
            raise DeliveryFailed(f"notification of {record.dynamodb.sequence_number} failed; see the log")

    return process_partial_response(
        event=event,
        record_handler=check,
        processor=BatchProcessor(EventType.DynamoDBStreams, raise_on_entire_batch_failure=False),
        context=context,
    )
