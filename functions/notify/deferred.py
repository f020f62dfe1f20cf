"""Outbox sweep (scheduled): sends customer messages held back by quiet hours and redelivers notifications
that failed, once they are due; gives up (marked failed, dead-lettered) after the retry window."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from logistics.bootstrap import build_outbox_sweeper

logger = Logger()
metrics = Metrics()
sweeper = build_outbox_sweeper()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Send what is due (the EventBridge schedule event carries nothing we need); returns the sweep's counts."""
    result = sweeper.run(time_left_s=lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric("NotificationsSent", MetricUnit.Count, result.sent)
    metrics.add_metric("NotificationRetries", MetricUnit.Count, result.retrying)
    metrics.add_metric("NotificationsFailed", MetricUnit.Count, result.failed)
    if result.errors or result.left:
        logger.warning("outbox sweep incomplete", extra=result.as_dict())
    return result.as_dict()
