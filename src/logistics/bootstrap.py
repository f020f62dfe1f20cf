"""The one place that wires services to adapters, from the environment template.yaml declares."""

from __future__ import annotations

import os
from typing import Any

import boto3

from logistics.adapters.codec import shipment_from_item
from logistics.adapters.dead_letter import DynamoDBDeadLetters
from logistics.adapters.dynamodb_lanes import DynamoDBLaneStore
from logistics.adapters.dynamodb_notifications import (
    DynamoDBMerchants,
    DynamoDBNotificationLog,
    DynamoDBOutbox,
    LoggedOnce,
)
from logistics.adapters.dynamodb_open_shipments import DynamoDBCheckCursors, DynamoDBOpenShipments
from logistics.adapters.dynamodb_predictions import DynamoDBToldPredictions
from logistics.adapters.dynamodb_store import DynamoDBStateStore
from logistics.adapters.dynamodb_timeline import DynamoDBTimeline
from logistics.adapters.retry import BOTO_CONFIG
from logistics.adapters.sns import SnsCustomerChannel
from logistics.adapters.webhooks import HttpWebhookSender
from logistics.domain.notifications import RetryPolicy
from logistics.service.deferred import OutboxSweeper
from logistics.service.estimate_check import EstimateCheck
from logistics.service.estimate_notices import CachedLanes, EstimateNotices
from logistics.service.ingest import DEFAULT_MAX_EVENT_BYTES, Ingestor
from logistics.service.notify import Notifier


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set (template.yaml declares it)")
    return value


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def client(service: str) -> Any:
    """A boto3 client; AWS_ENDPOINT_URL (set locally) points it at the emulator."""
    return boto3.client(service, region_name=region(), config=BOTO_CONFIG)


def build_ingestor() -> Ingestor:
    dynamodb = client("dynamodb")
    return Ingestor(
        store=DynamoDBStateStore(dynamodb, _env("SHIPMENTS_TABLE"), _env("WAREHOUSES_TABLE"), region()),
        timeline=DynamoDBTimeline(dynamodb, _env("TIMELINE_TABLE")),
        dead_letters=DynamoDBDeadLetters(dynamodb, _env("DEAD_LETTER_TABLE")),
        max_event_bytes=int(os.environ.get("MAX_EVENT_BYTES") or DEFAULT_MAX_EVENT_BYTES),
    )


def retry_policy() -> RetryPolicy:
    """Backoff of failed notifications: ``NOTIFY_RETRY_BASE_S``, ``NOTIFY_RETRY_CAP_S``, ``NOTIFY_RETRY_WINDOW_S``."""
    default = RetryPolicy()
    return RetryPolicy(base_s=float(os.environ.get("NOTIFY_RETRY_BASE_S") or default.base_s),
                       cap_s=float(os.environ.get("NOTIFY_RETRY_CAP_S") or default.cap_s),
                       window_s=float(os.environ.get("NOTIFY_RETRY_WINDOW_S") or default.window_s))


def build_notifier() -> tuple[Notifier, LoggedOnce]:
    dynamodb = client("dynamodb")
    # The (change, channel) log item is the guard: no idempotency record of its own (2 writes saved per send).
    once = LoggedOnce(dynamodb, _env("NOTIFICATIONS_TABLE"))
    notifier = Notifier(
        merchants=DynamoDBMerchants(dynamodb, _env("MERCHANTS_TABLE")),
        log=DynamoDBNotificationLog(dynamodb, _env("NOTIFICATIONS_TABLE")),
        once=once,
        customers=SnsCustomerChannel(client("sns"), _env("CUSTOMER_TOPIC_ARN")),
        webhooks=HttpWebhookSender(),
        region=region(),
        tracking_base_url=os.environ.get("TRACKING_BASE_URL", "http://127.0.0.1:8000/track"),
        policy=retry_policy(),
    )
    lanes_table = os.environ.get("LANES_TABLE")
    if lanes_table:  # delivery-estimate notices need the lane statistics and the estimates told
        notifier.followers.append(EstimateNotices(
            notifier, CachedLanes(DynamoDBLaneStore(dynamodb, lanes_table)),
            DynamoDBToldPredictions(dynamodb, lanes_table), shipment_from_item))
    return notifier, once


def build_outbox_sweeper() -> OutboxSweeper:
    """The scheduled sender of what waits in the notification log: deferred messages and failed deliveries."""
    dynamodb = client("dynamodb")
    return OutboxSweeper(
        outbox=DynamoDBOutbox(dynamodb, _env("NOTIFICATIONS_TABLE")),
        merchants=DynamoDBMerchants(dynamodb, _env("MERCHANTS_TABLE")),
        webhooks=HttpWebhookSender(attempts=1),  # the time between sweeps is the backoff
        customers=SnsCustomerChannel(client("sns"), _env("CUSTOMER_TOPIC_ARN")),
        dead_letters=DynamoDBDeadLetters(dynamodb, _env("DEAD_LETTER_TABLE")),
        policy=retry_policy(),
    )


def build_estimate_check() -> EstimateCheck:
    """The scheduled estimate check: ``ESTIMATE_CHECK_MAX_SHIPMENTS`` per run, shipments whose status began
    between ``ESTIMATE_CHECK_LOOKBACK_DAYS`` and ``ESTIMATE_CHECK_MIN_STALL_S`` ago."""
    dynamodb = client("dynamodb")
    lanes_table = _env("LANES_TABLE")
    notifier, _ = build_notifier()
    notices = EstimateNotices(notifier, CachedLanes(DynamoDBLaneStore(dynamodb, lanes_table)),
                              DynamoDBToldPredictions(dynamodb, lanes_table), shipment_from_item)
    return EstimateCheck(
        DynamoDBOpenShipments(dynamodb, _env("SHIPMENTS_TABLE"), _env("MERCHANTS_TABLE")),
        DynamoDBCheckCursors(dynamodb, lanes_table), notices,
        max_shipments=int(os.environ.get("ESTIMATE_CHECK_MAX_SHIPMENTS") or 2000),
        min_stall_s=float(os.environ.get("ESTIMATE_CHECK_MIN_STALL_S") or 3600),
        lookback_s=float(os.environ.get("ESTIMATE_CHECK_LOOKBACK_DAYS") or 30) * 86400)
