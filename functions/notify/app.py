"""Notify function: ShipmentsTable stream -> one notification per real status change and channel.

A failed channel fails its stream record (reported by sequence number); the retry re-sends only
the channels that did not complete, thanks to the idempotency records.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from logistics.adapters.batch_response import BatchResponse, stream_batch_response
from logistics.adapters.stream_records import stream_images
from logistics.bootstrap import build_notifier

logger = Logger()
metrics = Metrics()
notifier, once = build_notifier()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> BatchResponse:
    """Notify every real status change; returns the stream partial batch response naming the failed ones."""
    once.register_lambda_context(context)
    found = notifier.changes(stream_images(event))
    failed = notifier.handle_batch(found)
    metrics.add_metric("StatusChanges", MetricUnit.Count, len(found))
    metrics.add_metric("NotificationFailures", MetricUnit.Count, len(failed))
    return stream_batch_response(event, context, failed)
