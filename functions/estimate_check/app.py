"""Estimate check (scheduled): open shipments that stalled get their delivery-estimate notices.

Notices are checked at each status change by NotifyFunction; a shipment with no events would never start
trending late there. This run walks stalled open shipments (bounded per run) and tells each revision once
through the same machinery (``service.estimate_check``, ``service.estimate_notices``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from logistics.bootstrap import build_estimate_check

logger = Logger()
metrics = Metrics()
check = build_estimate_check()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One bounded pass (the EventBridge schedule event carries nothing we need); returns its counts."""
    result = check.run(time_left_s=lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric("EstimatesChecked", MetricUnit.Count, result.checked)
    metrics.add_metric("EstimateRevisionsTold", MetricUnit.Count, result.told)
    if result.errors or result.left:
        logger.warning("estimate check incomplete", extra=result.as_dict())
    return result.as_dict()
