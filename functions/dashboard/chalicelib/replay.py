"""Replay a dead letter: re-produce its original bytes (key, value, headers) to the Kafka topic it
came from, then mark it ``replayed``.

A conditional claim (``dead``/``failed`` -> ``replaying``) makes two clicks produce once; a claim
older than CLAIM_STALE_S is taken over (a crashed replay). The producer is injectable: anything with
``publish(topic, value, key, headers)`` that returns once the broker acknowledged, or raises.

With ``EVENT_SCHEMA_REGISTRY`` set (the template sets it when the Kafka mappings validate with the Glue
registry), :func:`publisher_from_env` re-produces through the registry serializer: the event is framed with
its contract's registry version, and one the registry refuses is not produced (:class:`ReplayRefused`, 422).
"""

from __future__ import annotations

import base64
import os
import re
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.http import ApiError, not_found
from chalicelib.queries import Reader

CLAIM_STALE_S = 300
REPLAY_HEADER = "dlq-replay-of"
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


class Publisher(Protocol):
    def publish(self, topic: str, value: bytes, key: bytes | None, headers: dict[str, bytes]) -> None: ...


class KafkaPublisher:
    """confluent-kafka producer to KAFKA_BOOTSTRAP_SERVERS, created on first use, idempotent, acks=all."""

    def __init__(self, bootstrap_servers: str, timeout_s: float = 10.0) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.timeout_s = timeout_s
        self._producer: Any = None

    def _get(self) -> Any:
        if self._producer is None:
            if not self.bootstrap_servers:
                raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set")
            from confluent_kafka import Producer

            self._producer = Producer({
                "bootstrap.servers": self.bootstrap_servers, "acks": "all", "enable.idempotence": True,
                "message.timeout.ms": int(self.timeout_s * 1000), "client.id": "logistics-dashboard-replay",
            })
        return self._producer

    def publish(self, topic: str, value: bytes, key: bytes | None, headers: dict[str, bytes]) -> None:
        producer = self._get()
        outcome: list[Any] = []
        producer.produce(topic, value=value, key=key, headers=list(headers.items()),
                         on_delivery=lambda err, msg: outcome.append(err))
        producer.flush(self.timeout_s)
        if not outcome:
            raise RuntimeError(f"no delivery report from Kafka within {self.timeout_s}s")
        if outcome[0] is not None:
            raise RuntimeError(f"Kafka refused the record: {outcome[0]}")


class ReplayRefused(Exception):
    """The schema registry refuses the event: replaying it would only send it to the on-failure destination."""


class RegistryPublisher:
    """Frames values with the Glue Schema Registry before ``inner`` produces them (framed values are re-framed
    with the current registry version of their contract)."""

    def __init__(self, inner: Publisher, serializer: Any) -> None:
        self.inner = inner
        self.serializer = serializer

    def publish(self, topic: str, value: bytes, key: bytes | None, headers: dict[str, bytes]) -> None:
        from logistics.adapters.registry_serializer import unframe

        try:
            framed = self.serializer.serialize(unframe(value))
        except ValueError as exc:  # RegistryRefusal: the contract or the registry says no, with the reason
            raise ReplayRefused(str(exc)) from exc
        self.inner.publish(topic, framed, key, headers)


def publisher_from_env(bootstrap_servers: str) -> Publisher:
    """The replay producer: Kafka, through the registry serializer when ``EVENT_SCHEMA_REGISTRY`` names one."""
    kafka = KafkaPublisher(bootstrap_servers)
    registry = os.environ.get("EVENT_SCHEMA_REGISTRY", "")
    if not registry:
        return kafka
    import boto3

    from logistics.adapters.registry_serializer import RegistrySerializer

    return RegistryPublisher(kafka, RegistrySerializer(boto3.client("glue"), registry))


def topic_of(item: dict[str, Any]) -> str:
    """The topic of ``<topic>-<partition>@<offset>``."""
    topic_partition = item.get("topic_partition") or str(item.get("source", "")).rpartition("@")[0]
    topic, _, partition = topic_partition.rpartition("-")
    if not _TOPIC.match(topic) or not partition.isdigit():
        raise ApiError(409, "not_replayable", f"cannot tell the topic from source {item.get('source')!r}")
    return topic


def _b64(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value is not None else None


def replay(reader: Reader, merchant_id: str, dlq_key: str, publisher: Publisher, now: datetime) -> dict[str, Any]:
    item = reader.dead_letter(merchant_id, dlq_key)
    if item is None:
        raise not_found("no such dead letter")
    if item.get("state") == "replayed":
        raise ApiError(409, "already_replayed", f"replayed at {item.get('replayed_at')}")
    value = _b64(item.get("value_b64"))
    if value is None and item.get("value_truncated"):
        raise ApiError(409, "not_replayable", f"the value was {item.get('value_bytes')} bytes, above the size "
                       "limit; only its first bytes and its sha256 were kept")
    if value is None:
        raise ApiError(409, "not_replayable", "the record had no value; there is nothing to replay")
    topic = topic_of(item)
    key = {"merchant_id": {"S": merchant_id}, "dlq_key": {"S": dlq_key}}
    table, client = reader.settings.dead_letter_table, reader.client
    stamp = now.isoformat(timespec="milliseconds")
    try:
        client.update_item(
            TableName=table, Key=key,
            UpdateExpression="SET #st = :replaying, replay_started_at = :now",
            ConditionExpression="attribute_exists(dlq_key) AND (#st IN (:dead, :failed) OR "
                                "(#st = :replaying AND replay_started_at < :stale))",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={
                ":replaying": {"S": "replaying"}, ":dead": {"S": "dead"}, ":failed": {"S": "replay_failed"},
                ":now": {"S": stamp},
                ":stale": {"S": (now - timedelta(seconds=CLAIM_STALE_S)).isoformat(timespec="milliseconds")},
            },
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise ApiError(409, "replay_in_progress", "this dead letter is being replayed already") from exc
        raise
    headers = {k: base64.b64decode(v) for k, v in (item.get("headers") or {}).items()}
    headers[REPLAY_HEADER] = str(item.get("source", "")).encode()
    try:
        publisher.publish(topic, value, _b64(item.get("key_b64")), headers)
    except Exception as exc:
        client.update_item(
            TableName=table, Key=key, UpdateExpression="SET #st = :failed, last_replay_error = :err",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={":failed": {"S": "replay_failed"}, ":err": {"S": str(exc)[:500]}},
        )
        if isinstance(exc, ReplayRefused):
            raise ApiError(422, "refused_by_registry", f"the schema registry refuses it: {exc}") from exc
        raise ApiError(502, "replay_failed", f"could not produce to {topic}: {exc}") from exc
    client.update_item(
        TableName=table, Key=key,
        UpdateExpression="SET #st = :done, replayed_at = :now, replayed_to = :topic "
                         "ADD replay_count :one REMOVE last_replay_error",
        ExpressionAttributeNames={"#st": "state"},
        ExpressionAttributeValues={":done": {"S": "replayed"}, ":now": {"S": stamp}, ":topic": {"S": topic},
                                   ":one": {"N": "1"}},
    )
    return {"dlq_key": dlq_key, "state": "replayed", "topic": topic, "replayed_at": stamp}
