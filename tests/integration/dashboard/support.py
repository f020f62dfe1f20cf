"""Shared by the dashboard's API, browser and benchmark code: a stack deployed from template.yaml on the
session's moto server, the app loaded under a unique module name, and data written through the real
ingest path (``logistics.bootstrap.build_ingestor``) and the real notifier (``Notifier`` with the
DynamoDB notification log, fed from the ShipmentsTable stream)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local_runtime.cloudformation import load_template
from local_runtime.deploy import deploy_template
from local_runtime.services.aws import SCRUBBED_VARIABLES, aws_env
from local_runtime.services.aws import client as aws_client
from tests.factories import record

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD_DIR = ROOT / "functions" / "dashboard"
TABLE_ENV = {
    "ShipmentsTable": "SHIPMENTS_TABLE",
    "TimelineTable": "TIMELINE_TABLE",
    "WarehousesTable": "WAREHOUSES_TABLE",
    "DeadLetterTable": "DEAD_LETTER_TABLE",
    "NotificationsTable": "NOTIFICATIONS_TABLE",
    "MerchantsTable": "MERCHANTS_TABLE",
    "IdempotencyTable": "IDEMPOTENCY_TABLE",
    "LanesTable": "LANES_TABLE",
}
SESSION_SECRET = "test-session-secret-0123456789abcdef"
TRACKING_BASE_URL = "http://dashboard.test/track"
_offsets = itertools.count(1000)


def load_app() -> ModuleType:
    """functions/dashboard/app.py as module ``dashboard_app`` (other functions also have an app.py)."""
    if "dashboard_app" in sys.modules:
        return sys.modules["dashboard_app"]
    if str(DASHBOARD_DIR) not in sys.path:
        sys.path.insert(0, str(DASHBOARD_DIR))
    spec = importlib.util.spec_from_file_location("dashboard_app", DASHBOARD_DIR / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["dashboard_app"] = module
    spec.loader.exec_module(module)
    return module


def deps() -> Any:
    load_app()
    import chalicelib.deps

    return chalicelib.deps


def deploy_tables(endpoint_url: str, stack_name: str, parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Create the template's resources on moto (with ``parameters`` over samconfig's); returns the table
    environment variables."""
    template = load_template(
        ROOT / "template.yaml", config_env="local", stack_name=stack_name, endpoint_url=endpoint_url,
        parameter_overrides={"KafkaSchemaRegistry": "Disabled", **(parameters or {})},
    )
    deployment, _ = deploy_template(template, endpoint_url=endpoint_url)
    ids = deployment.physical_ids()
    return {env: ids[logical] for logical, env in TABLE_ENV.items()}


@dataclass
class Stack:
    """One deployed stack with the environment the dashboard and the ingest path read."""

    endpoint_url: str
    env: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)  # merchant id -> API key
    _ingestor: Any = None
    _stream_iterator: str | None = None

    @property
    def dynamodb(self) -> Any:
        return aws_client("dynamodb", self.endpoint_url)

    def ingest(self, payloads: list[Any], topic: str = "shipment-events") -> Any:
        """Write events through the real ingest service, as the ingest Lambda does."""
        if self._ingestor is None:
            from logistics.bootstrap import build_ingestor

            self._ingestor = build_ingestor()
        records = [
            record(p, next(_offsets), topic=topic)
            if not isinstance(p, bytes)
            else record(None, next(_offsets), topic=topic, raw=p)
            for p in payloads
        ]
        result = self._ingestor.ingest(records)
        assert not result.failed, f"ingest failed for {result.failed}"
        return result

    def issue_key(self, merchant_id: str) -> str:
        from chalicelib.auth import issue_api_key

        self.keys[merchant_id] = issue_api_key(self.env["MERCHANTS_TABLE"], merchant_id, "tests", self.dynamodb)
        return self.keys[merchant_id]

    def notify_pending(self) -> int:
        """Run the notifier over the ShipmentsTable stream records not seen yet (real status_change and
        Notifier, DynamoDB notification log; in-memory once-guard, SNS and webhook fakes)."""
        from logistics.adapters.codec import from_attributes
        from logistics.adapters.dynamodb_notifications import DynamoDBMerchants, DynamoDBNotificationLog
        from logistics.domain.notifications import status_change
        from logistics.service.notify import Notifier
        from tests.fakes.memory import MemoryCustomers, MemoryOnce, MemoryWebhooks

        dynamodb = self.dynamodb
        streams = aws_client("dynamodbstreams", self.endpoint_url)
        if self._stream_iterator is None:
            arn = dynamodb.describe_table(TableName=self.env["SHIPMENTS_TABLE"])["Table"]["LatestStreamArn"]
            shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
            self._stream_iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        notifier = Notifier(
            merchants=DynamoDBMerchants(dynamodb, self.env["MERCHANTS_TABLE"]),
            log=DynamoDBNotificationLog(dynamodb, self.env["NOTIFICATIONS_TABLE"]),
            once=MemoryOnce(),
            customers=MemoryCustomers(),
            webhooks=MemoryWebhooks(),
            region="us-east-1",
            tracking_base_url=TRACKING_BASE_URL,
        )
        handled = 0
        while True:
            page = streams.get_records(ShardIterator=self._stream_iterator, Limit=1000)
            self._stream_iterator = page["NextShardIterator"]
            for rec in page["Records"]:
                images = rec["dynamodb"]
                change = status_change(
                    from_attributes(images.get("OldImage") or {}) or None, from_attributes(images.get("NewImage") or {})
                )
                if change is not None:
                    notifier.handle(change)
                    handled += 1
            if not page["Records"]:
                return handled


@contextmanager
def stack_environment(endpoint_url: str, stack_name: str, *, template_parameters: dict[str, str] | None = None,
                      **extra: str) -> Iterator[Stack]:
    """Deploy a stack, point the environment (and the dashboard's dependencies) at it, undo after."""
    env = {
        **aws_env(endpoint_url, "us-east-1"),
        **deploy_tables(endpoint_url, stack_name, template_parameters),
        "AUTH_MODE": "api_key",
        "DASHBOARD_SESSION_SECRET": SESSION_SECRET,
        "TRACKING_BASE_URL": TRACKING_BASE_URL,
        "KAFKA_BOOTSTRAP_SERVERS": "",
        **extra,
    }
    patch = pytest.MonkeyPatch()
    for name in SCRUBBED_VARIABLES:
        patch.delenv(name, raising=False)
    for name, value in env.items():
        patch.setenv(name, value)
    module = deps()
    module.reset()
    try:
        yield Stack(endpoint_url, env)
    finally:
        module.reset()
        patch.undo()


class CapturingPublisher:
    """A Kafka publisher that keeps what it was given (``fail`` makes it raise)."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []
        self.fail = False

    def publish(self, topic: str, value: bytes, key: bytes | None, headers: dict[str, bytes]) -> None:
        if self.fail:
            raise RuntimeError("broker unavailable")
        self.published.append({"topic": topic, "value": value, "key": key, "headers": headers})


def poison(merchant_id: str, reason_field: str = "status") -> bytes:
    """A record that breaks its contract but names its merchant, so it dead-letters under that merchant."""
    return json.dumps(
        {
            "event_id": f"bad-{next(_offsets)}",
            "schema_version": 1,
            "event_type": "tracking_update",
            "merchant_id": merchant_id,
            "shipment_id": "broken",
            reason_field: "TELEPORTED",
            "occurred_at": "2026-11-20T10:00:00Z",
        }
    ).encode()


# -- demo data ---------------------------------------------------------------------------------------
PLACES = {
    "DE": {"city": "Berlin", "region": "Berlin", "country": "DE", "lat": 52.52, "lon": 13.40, "facility_id": "BER1"},
    "FR": {"city": "Paris", "region": "IDF", "country": "FR", "lat": 48.86, "lon": 2.35, "facility_id": "CDG2"},
    "US": {"city": "Chicago", "region": "IL", "country": "US", "lat": 41.88, "lon": -87.63, "facility_id": "ORD1"},
    "JP": {"city": "Osaka", "region": "Osaka", "country": "JP", "lat": 34.69, "lon": 135.50, "facility_id": "KIX1"},
    "BR": {"city": "Curitiba", "region": "PR", "country": "BR", "lat": -25.43, "lon": -49.27, "facility_id": "CWB1"},
    "AE": {"city": "Dubai", "region": "DU", "country": "AE", "lat": 25.20, "lon": 55.27, "facility_id": "DXB1"},
}
ROUTE = [  # a-route travels Leipzig -> Berlin -> Hamburg -> Copenhagen
    {"city": "Leipzig", "country": "DE", "lat": 51.34, "lon": 12.37, "facility_id": "LEJ1"},
    {"city": "Berlin", "country": "DE", "lat": 52.52, "lon": 13.40, "facility_id": "BER1"},
    {"city": "Hamburg", "country": "DE", "lat": 53.55, "lon": 9.99, "facility_id": "HAM1"},
    {"city": "Copenhagen", "country": "DK", "lat": 55.68, "lon": 12.57, "facility_id": "CPH1"},
]
BULK_STATUSES = ("IN_TRANSIT", "OUT_FOR_DELIVERY", "PICKED_UP", "CREATED", "IN_TRANSIT")
BULK_COUNTRIES = ("DE", "FR", "US", "JP", "BR", "AE")
BULK_CARRIERS = ("DHL", "UPS", "FedEx")


def at(day: int, minute: int) -> str:
    """2026-11-<day> plus ``minute`` minutes, UTC."""
    return f"2026-11-{day:02d}T{minute // 60:02d}:{minute % 60:02d}:00Z"


def seed(stack: Stack, merchant: str = "m-alpha", other: str = "m-beta", bulk: int = 30) -> dict[str, Any]:
    """Shipments, warehouse movements, dead letters and notifications for two merchants, all through
    the ingest and notify services. Returns the ids the tests look for."""
    from tests.factories import shipment_event, warehouse_event

    events: list[dict[str, Any]] = []
    for n in range(1, bulk + 1):
        country = BULK_COUNTRIES[n % len(BULK_COUNTRIES)]
        events.append(
            shipment_event(
                f"a-{n:03d}",
                BULK_STATUSES[n % len(BULK_STATUSES)],
                at(20, n * 7),
                merchant_id=merchant,
                carrier=BULK_CARRIERS[n % len(BULK_CARRIERS)],
                location=PLACES[country],
            )
        )
    # Delivered on time (ETA 22nd, delivered 21st) and late (ETA 19th): transit time and on-time rate.
    for sid, eta in (("a-ontime", "2026-11-22"), ("a-late", "2026-11-19")):
        events += [
            shipment_event(
                sid, "PICKED_UP", at(20, 300), merchant_id=merchant, location=PLACES["DE"], eta={"date": eta}
            ),
            shipment_event(
                sid, "DELIVERED", at(21, 300), merchant_id=merchant, location=PLACES["FR"], eta={"date": eta}
            ),
        ]
    events.append(shipment_event("a-exc", "EXCEPTION", at(21, 400), merchant_id=merchant, location=PLACES["US"]))
    # A route with a late event: picked up again "after" being out for delivery is kept, marked late.
    route = [("PICKED_UP", 0), ("IN_TRANSIT", 1), ("IN_TRANSIT", 2), ("OUT_FOR_DELIVERY", 3)]
    for i, (status, place) in enumerate(route):
        events.append(
            shipment_event(
                "a-route",
                status,
                at(22, 60 + i * 90),
                merchant_id=merchant,
                location=ROUTE[place],
                event_id=f"a-route-{i}",
            )
        )
    events.append(
        shipment_event(
            "a-route", "PICKED_UP", at(22, 600), merchant_id=merchant, location=ROUTE[0], event_id="a-route-late"
        )
    )
    # A correction: delivered by mistake, corrected back to out for delivery.
    events += [
        shipment_event("a-corr", "DELIVERED", at(22, 100), merchant_id=merchant, event_id="a-corr-wrong"),
        shipment_event(
            "a-corr",
            "OUT_FOR_DELIVERY",
            at(22, 130),
            merchant_id=merchant,
            event_type="correction",
            correction_of="a-corr-wrong",
            event_id="a-corr-fix",
        ),
    ]
    events.append(shipment_event("b-001", "IN_TRANSIT", at(21, 30), merchant_id=other, location=PLACES["FR"]))
    stack.ingest(events)
    stack.ingest(
        [
            warehouse_event(
                "received",
                "w-alpha",
                at(19, 60),
                merchant_id=merchant,
                items=[{"sku": "SKU-RED", "qty": 40}, {"sku": "SKU-BLUE", "qty": 12}],
            ),
            warehouse_event(
                "picked",
                "w-alpha",
                at(21, 600),
                merchant_id=merchant,
                shipment_id="a-route",
                items=[{"sku": "SKU-RED", "qty": 2}],
                location=ROUTE[0],
            ),
            warehouse_event(
                "picked",
                "w-alpha",
                at(22, 30),
                merchant_id=merchant,
                shipment_id="a-onhand",
                items=[{"sku": "SKU-BLUE", "qty": 1}],
                location=ROUTE[0],
            ),
            warehouse_event("received", "w-beta", at(19, 60), merchant_id=other),
        ],
        topic="warehouse-events",
    )
    stack.ingest([poison(merchant), poison(other)])
    stack.notify_pending()
    return {"merchant": merchant, "other": other, "bulk": bulk}
