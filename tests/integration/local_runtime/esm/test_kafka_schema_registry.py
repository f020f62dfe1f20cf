"""The Kafka mapping with SchemaRegistryConfig (Glue on the suite's moto server) and its MetricsConfig metrics.

Producers use the registry serializer (aws-glue-schema-registry), except one raw producer whose bad body
must reach the on-failure destination with DESERIALIZATION_ERROR and never the function.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from local_runtime.deploy.glue import CreateRegistry, CreateSchema, RegisterSchemaVersion, apply_glue
from local_runtime.esm.kafka.mapping import KafkaEventSourceMapping
from local_runtime.esm.metrics import NAMESPACE, MetricsPublisher
from local_runtime.esm.spec import MappingSpec, OnFailureDestination, SchemaRegistrySpec
from local_runtime.services.aws import service_endpoint
from logistics import contracts
from logistics.adapters.registry_serializer import RegistryRefusal, RegistrySerializer

REGION = "eu-west-1"
ACCOUNT = "123456789012"
CLUSTER_ARN = "arn:aws:kafka:eu-west-1:123456789012:cluster/logistics/0f1e2d3c-aaaa-bbbb-cccc-111122223333-1"
FAST = {"session.timeout.ms": 2000, "heartbeat.interval.ms": 250}
SAMPLE = Path(__file__).resolve().parents[4] / "events" / "ingest" / "msk.json"


def _client(moto_endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=service_endpoint(service, moto_endpoint), region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def _registry(glue: Any) -> tuple[str, dict[int, str]]:
    """A fresh registry holding shipment-event v1 and v2, as deploy creates it; (ARN, version ids)."""
    name = f"reg-{uuid.uuid4().hex[:8]}"
    arn = apply_glue(glue, CreateRegistry("R", name), REGION, ACCOUNT).ref
    definitions = {v: json.dumps(contracts.schema("shipment", v), separators=(",", ":")) for v in (1, 2)}
    first = apply_glue(glue, CreateSchema("S", name, "shipment-event", "JSON", "BACKWARD", definitions[1]),
                       REGION, ACCOUNT)
    second = apply_glue(glue, RegisterSchemaVersion("V", name, "shipment-event", definitions[2]), REGION, ACCOUNT)
    return arn, {1: first.attributes["InitialSchemaVersionId"], 2: second.ref}


def _event(status: str, version: int = 1) -> dict[str, Any]:
    records = json.loads(SAMPLE.read_text())["records"]
    payload = json.loads(base64.b64decode(next(iter(records.values()))[0]["value"]))
    payload = copy.deepcopy(payload) | {"event_id": f"e-{uuid.uuid4().hex[:10]}", "status": status,
                                        "schema_version": version}
    if version == 2:
        payload["service_level"] = "express"
    contracts.validate(payload)
    return payload


def test_registry_deserializes_filters_and_refuses_and_metrics_count_it(kafka_bootstrap: str,
                                                                         moto_endpoint: str) -> None:
    glue, sqs, cloudwatch = (_client(moto_endpoint, s) for s in ("glue", "sqs", "cloudwatch"))
    registry_arn, version_ids = _registry(glue)
    queue = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = f"t-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for f in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        f.result(10)

    serializer = RegistrySerializer(glue, registry_arn.rsplit("/", 1)[1])
    try:  # the producer refuses an invalid event, saying why
        serializer.serialize(_event("IN_TRANSIT") | {"status": "LOST_IN_SPACE"})
        raise AssertionError("an invalid event was serialized")
    except RegistryRefusal as exc:
        assert "status" in str(exc)
    v1_a, v1_created, v2 = _event("IN_TRANSIT"), _event("CREATED"), _event("DELIVERED", version=2)
    values = [serializer.serialize(v1_a), serializer.serialize(v1_created), serializer.serialize(v2),
              b'{"event_type": "tracking_update", "status": ', json.dumps(v1_a).encode()]  # raw: bad, unframed
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 0})
    for value in values:
        producer.produce(topic, value=value, key=b"S-1")
    assert producer.flush(10) == 0

    spec = MappingSpec(
        name=f"ev-{uuid.uuid4().hex[:8]}", function_logical_id="IngestFunction", kind="MSK", topics=(topic,),
        cluster_arn=CLUSTER_ARN, starting_position="TRIM_HORIZON", maximum_batching_window_s=0.3,
        filter_patterns=({"value": {"status": [{"anything-but": ["CREATED"]}]}},),
        on_failure=OnFailureDestination("sqs", queue_arn),
        schema_registry=SchemaRegistrySpec(registry_arn, "JSON", ("VALUE",)),
        metrics=("EventCount", "KafkaMetrics"))
    events: list[dict[str, Any]] = []
    mapping = KafkaEventSourceMapping(spec, events.append, kafka_bootstrap, sqs_client=sqs, glue_client=glue,
                                      consumer_config=FAST, retry_backoff_s=0.01)
    try:
        mapping.run_until_idle(timeout=60)
    finally:
        mapping.stop()

    delivered = [r for e in events for recs in e["records"].values() for r in recs]
    assert [json.loads(base64.b64decode(r["value"])) for r in delivered] == [v1_a, v2]  # CREATED filtered out
    assert [r["valueSchemaMetadata"] for r in delivered] == [
        {"dataFormat": "JSON", "schemaId": version_ids[1]}, {"dataFormat": "JSON", "schemaId": version_ids[2]}]
    assert [r["offset"] for r in delivered] == [0, 2]

    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    failures = sorted((json.loads(m["Body"]) for m in messages),
                      key=lambda d: int(next(iter(d["KafkaBatchInfo"]["recordsInfo"].values()))["firstRecordOffset"]))
    assert [d["requestContext"]["condition"] for d in failures] == ["DESERIALIZATION_ERROR"] * 2
    assert [next(iter(d["KafkaBatchInfo"]["recordsInfo"].values()))["firstRecordOffset"] for d in failures] == [
        "3", "4"]
    assert all(d["requestContext"]["approximateInvokeCount"] == 0 for d in failures)  # never invoked

    publisher = MetricsPublisher(cloudwatch, [mapping])
    publisher.publish_now()
    expected = {"PolledEventCount": 5, "FilteredOutEventCount": 1, "InvokedEventCount": 2,
                "FailedInvokeEventCount": 0, "DroppedEventCount": 0, "OnFailureDestinationDeliveredEventCount": 2}
    now = datetime.now(UTC)
    for name, count in expected.items():
        stats = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=name, Statistics=["Sum"], Period=60,
            Dimensions=[{"Name": "EventSourceMappingUUID", "Value": mapping.uuid}],
            StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1))
        assert sum(p["Sum"] for p in stats["Datapoints"]) == count, name
    assert glue  # one registry lookup per schema version, not per record
    assert mapping._registry is not None and mapping._registry.lookups == 2
