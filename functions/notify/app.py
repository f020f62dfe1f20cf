"""Notify function: ShipmentsTable stream -> one notification per real status change and channel.

A delivery that fails (after the sender's quick retries) waits in the outbox for the scheduled sweep
(``deferred.py``) and does not fail its stream record; only a record whose outcome could not be stored is
reported as failed, and the stream retries it (the log items make the retry skip what is done).
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
    result = notifier.handle_batch(found)
    metrics.add_metric("StatusChanges", MetricUnit.Count, len(found))
    metrics.add_metric("NotificationFailures", MetricUnit.Count, len(result.failed))
    metrics.add_metric("NotificationRetries", MetricUnit.Count, result.outcomes["retrying"])
    return stream_batch_response(event, context, result.failed)
