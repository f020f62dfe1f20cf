"""Lanes function: ShipmentsTable stream, tumbling windows -> merged lane statistics in LanesTable.

Each invocation adds the window's deliveries to ``state``; the final invocation of a window merges them into
LanesTable once (``service.lanes``). The answer always carries ``state``, as the tumbling-window contract
demands (a response without it is a failed invocation); a store error raises, so AWS retries the final
invocation and nothing is lost or counted twice.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from logistics.adapters.codec import shipment_from_item
from logistics.adapters.dynamodb_lanes import DynamoDBLaneStore
from logistics.adapters.stream_records import stream_images
from logistics.bootstrap import client, region
from logistics.service.lanes import LaneAggregator

logger = Logger()
metrics = Metrics()
aggregator = LaneAggregator(DynamoDBLaneStore(client("dynamodb"), os.environ["LANES_TABLE"]), shipment_from_item,
                            region())


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One invocation of a tumbling window: ``{"state": ..., "batchItemFailures": []}``."""
    window = event.get("window") or {}
    result = aggregator.handle(event.get("state") or {}, stream_images(event),
                               final=bool(event.get("isFinalInvokeForWindow")),
                               shard_id=str(event.get("shardId") or "?"), window_start=str(window.get("start")))
    metrics.add_metric("LaneDeliveries", MetricUnit.Count, result.deliveries)
    if result.merged:
        metrics.add_metric("LaneAggregatesWritten", MetricUnit.Count, result.merged)
    return {"state": result.state, "batchItemFailures": []}
