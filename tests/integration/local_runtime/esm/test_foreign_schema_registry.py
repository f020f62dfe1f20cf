"""A foreign SAM project whose MSK triggers validate with a Glue schema registry, run unchanged by LocalPlatform.

Orders: JSON delivery, VALUE validated; a v2 producer and a v1 producer side by side, one v1 consumer.
Payments: SOURCE delivery, KEY and VALUE validated; a record whose key breaks its schema is refused.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aws_schema_registry.codec import encode
from confluent_kafka import Producer

from local_runtime.esm.metrics import NAMESPACE
from local_runtime.runtime import LocalPlatform, PlatformOptions

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "schema_registry" / "template.yaml"


def _version_id(glue: Any, registry: str, schema: str, number: int) -> uuid.UUID:
    response = glue.get_schema_version(SchemaId={"RegistryName": registry, "SchemaName": schema},
                                       SchemaVersionNumber={"VersionNumber": number})
    return uuid.UUID(response["SchemaVersionId"])


def _framed(data: dict[str, Any], version_id: uuid.UUID) -> bytes:
    """What a Glue-serde producer sends: the wire format around the JSON bytes."""
    return encode(json.dumps(data).encode(), version_id)


def _drain(sqs: Any, url: str, count: int, timeout_s: float = 90) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(bodies) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_foreign_msk_trigger_with_a_glue_registry(moto_endpoint: str, kafka_bootstrap: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    orders, payments = f"orders-{suffix}", f"payments-{suffix}"
    options = PlatformOptions(
        template=FIXTURE, config_env=None, stack_name=f"shop-{suffix}", aws_endpoint=moto_endpoint,
        kafka_bootstrap=kafka_bootstrap, dynamodb="moto", dashboard_port=None, schedules=False, partitions=1,
        parameter_overrides={"OrdersTopic": orders, "PaymentsTopic": payments},
        consumer_config={"session.timeout.ms": 2000, "heartbeat.interval.ms": 250})
    with LocalPlatform(options) as platform:
        assert platform.template is not None
        glue, sqs = platform.client("glue"), platform.client("sqs")
        registry = f"shop-{suffix}-shop"
        order_v1, order_v2 = (_version_id(glue, registry, "order", n) for n in (1, 2))
        key_v1, payment_v1 = _version_id(glue, registry, "payment-key", 1), _version_id(glue, registry, "payment", 1)

        producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 0})
        v1 = {"order_id": "o-1", "amount": 12.5}
        v2 = {"order_id": "o-2", "amount": 99.0, "currency": "EUR"}  # the v2 producer
        bad = {"order_id": "o-3", "amount": "a lot"}  # framed as v2, breaks it
        for value in (_framed(v1, order_v1), _framed(v2, order_v2), _framed(bad, order_v2)):
            producer.produce(orders, value=value, key=b"o")
        paid = {"payment_id": "p-1", "paid": True}
        producer.produce(payments, key=_framed({"payment_id": "p-1"}, key_v1), value=_framed(paid, payment_v1))
        producer.produce(payments, key=_framed({"id": "p-2"}, key_v1),  # the key breaks payment-key
                         value=_framed({"payment_id": "p-2", "paid": False}, payment_v1))
        assert producer.flush(10) == 0

        results_url = platform.template.resource_info("ResultsQueue").ref
        failures_url = platform.template.resource_info("FailureQueue").ref
        delivered = sorted(_drain(sqs, results_url, 3), key=lambda r: (r["topic"], r["offset"]))
        refused = _drain(sqs, failures_url, 2)

        order_records = [r for r in delivered if r["topic"] == orders]
        # JSON delivery: the deserialized values, each with its schema version; the v1 consumer reads both.
        assert [r["value"] for r in order_records] == [v1, v2]
        assert [r["valueSchemaMetadata"] for r in order_records] == [
            {"dataFormat": "JSON", "schemaId": str(order_v1)}, {"dataFormat": "JSON", "schemaId": str(order_v2)}]
        assert [r["v1_view"] for r in order_records] == [v1, {"order_id": "o-2", "amount": 99.0}]
        # SOURCE delivery: the producer's bytes without the framing, key and value metadata both present.
        [payment] = [r for r in delivered if r["topic"] == payments]
        assert payment["value"] == paid and json.loads(payment["key"]) == {"payment_id": "p-1"}
        assert payment["keySchemaMetadata"] == {"dataFormat": "JSON", "schemaId": str(key_v1)}
        assert payment["valueSchemaMetadata"] == {"dataFormat": "JSON", "schemaId": str(payment_v1)}

        # The bad value and the bad key: to the on-failure queue, never invoked.
        assert sorted(next(iter(d["KafkaBatchInfo"]["recordsInfo"])) for d in refused) == [
            f"{orders}-0", f"{payments}-0"]
        assert {d["requestContext"]["condition"] for d in refused} == {"DESERIALIZATION_ERROR"}
        assert all(d["requestContext"]["approximateInvokeCount"] == 0 for d in refused)
        assert len(_drain(sqs, results_url, 1, timeout_s=2)) == 0

        # The Orders trigger's MetricsConfig, published by the platform to the local CloudWatch.
        metrics = platform.metrics
        assert metrics is not None and metrics.publish_now() >= 0
        [orders_mapping] = [m for m in platform.kafka_mappings if m.spec.name == "Orders"]
        dimension = metrics.uuid_of(orders_mapping.pollers[0])
        cloudwatch = platform.client("cloudwatch")
        now = datetime.now(UTC)
        counts = {}
        for name in ("PolledEventCount", "InvokedEventCount", "OnFailureDestinationDeliveredEventCount"):
            stats = cloudwatch.get_metric_statistics(
                Namespace=NAMESPACE, MetricName=name, Statistics=["Sum"], Period=60,
                Dimensions=[{"Name": "EventSourceMappingUUID", "Value": dimension}],
                StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1))
            counts[name] = sum(p["Sum"] for p in stats["Datapoints"])
        assert counts == {"PolledEventCount": 3, "InvokedEventCount": 2, "OnFailureDestinationDeliveredEventCount": 1}
