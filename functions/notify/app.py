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

logger = Logger()
metrics = Metrics()
notifier, once = build_notifier()


def notify_record(record: DynamoDBRecord) -> None:
    images = record.raw_event["dynamodb"]
    new = from_attributes(images.get("NewImage") or {})
    if not notifier.should_handle(new):
        return
    change = status_change(from_attributes(images.get("OldImage") or {}) or None, new)
    if change is None:
        return
    for outcome in notifier.handle(change):
        metrics.add_metric(f"Notifications_{outcome.channel}_{outcome.outcome}", MetricUnit.Count, 1)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    once.register_lambda_context(context)
    return process_partial_response(
        event=event,
        record_handler=notify_record,
        processor=BatchProcessor(EventType.DynamoDBStreams, raise_on_entire_batch_failure=False),
        context=context,
    )
