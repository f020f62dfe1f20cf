"""Delivery of on-failure records to ``DestinationConfig.OnFailure``: SQS, SNS, S3 or a Kafka topic.

SQS, SNS and S3 get one document per given-up batch. A Kafka topic gets one message PER RECORD, as AWS
documents it (https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html, "Record format
for a Kafka destination" and "Partition key behavior"): the failure metadata with ``KafkaBatchInfo.batchSize``
1 and ``recordInfo {offset, timestamp}`` (instead of a batch's ``recordsInfo``), ``payload`` the invocation
event holding that one record, produced with the record's own key (no key: the producer's default partitioner).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from local_runtime.esm.spec import OnFailureDestination

__all__ = ["OnFailureSender", "arn_parts", "kafka_destination_messages"]


def arn_parts(arn: str) -> list[str]:
    """``arn:partition:service:region:account:resource`` split into its six parts."""
    return arn.split(":", 5)


def _iso_ms(epoch_ms: float) -> str:
    when = datetime.fromtimestamp(epoch_ms / 1000.0, tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def kafka_destination_messages(document: Mapping[str, Any]) -> list[tuple[bytes | None, dict[str, Any]]]:
    """The messages a Kafka destination receives for one on-failure ``document`` of a Kafka batch (which
    must carry ``payload``): ``(key, message)`` per record, in the batch's order.

    ``payloadSize`` is the size of the one-record ``payload`` each message carries (AWS's example does not
    say which payload it measures; this one is what the message holds).
    """
    payload = document.get("payload")
    if not isinstance(payload, Mapping) or not isinstance(payload.get("records"), Mapping):
        raise ValueError("a Kafka destination needs the on-failure document with its payload")
    batch_info = document.get("KafkaBatchInfo") or {}
    envelope = {k: v for k, v in document.items() if k not in ("KafkaBatchInfo", "payload")}
    out: list[tuple[bytes | None, dict[str, Any]]] = []
    for part, records in payload["records"].items():
        for record in records:
            single = {k: v for k, v in payload.items() if k != "records"}
            single["records"] = {part: [record]}
            info: dict[str, Any] = {"batchSize": 1}
            if batch_info.get("eventSourceArn"):
                info["eventSourceArn"] = batch_info["eventSourceArn"]
            info["bootstrapServers"] = batch_info.get("bootstrapServers", payload.get("bootstrapServers", ""))
            info["payloadSize"] = len(json.dumps(single, separators=(",", ":")).encode("utf-8"))
            info["recordInfo"] = {"offset": str(record["offset"]), "timestamp": _iso_ms(record["timestamp"])}
            key = base64.b64decode(record["key"]) if record.get("key") is not None else None
            out.append((key, {**envelope, "KafkaBatchInfo": info, "payload": single}))
    return out


class OnFailureSender:
    """Writes on-failure records to ``DestinationConfig.OnFailure`` (SQS, SNS, S3 or a Kafka topic).

    Raises whatever the client raises: callers keep the records unresolved and retry later, so a
    destination outage never loses records.
    """

    def __init__(
        self,
        destination: OnFailureDestination | None,
        *,
        mapping_id: str,
        sqs_client: Any = None,
        sns_client: Any = None,
        s3_client: Any = None,
        kafka_producer_factory: Callable[[], Any] | None = None,
    ) -> None:
        """``kafka_producer_factory`` makes a confluent ``Producer`` for ``kafka://`` destinations."""
        self.destination = destination
        self.mapping_id = mapping_id
        self._sqs, self._sns, self._s3 = sqs_client, sns_client, s3_client
        self._producer_factory = kafka_producer_factory
        self._producer: Any = None
        self._queue_url: str | None = None
        if destination is not None:
            needed = {"sqs": sqs_client, "sns": sns_client, "s3": s3_client, "kafka": kafka_producer_factory}
            if needed[destination.kind] is None:
                raise ValueError(f"OnFailure destination {destination.kind} needs its client")

    @property
    def configured(self) -> bool:
        """True when a destination is configured."""
        return self.destination is not None

    @property
    def include_payload(self) -> bool:
        """AWS adds the invocation payload for S3 and Kafka destinations only."""
        return self.destination is not None and self.destination.kind in ("s3", "kafka")

    def _sqs_url(self) -> str:
        if self._queue_url is None:
            assert self.destination is not None
            target = self.destination.target
            if target.startswith(("http://", "https://")):
                self._queue_url = target
            else:
                parts = arn_parts(target)
                name, account = parts[5], parts[4]
                kwargs: dict[str, Any] = {"QueueName": name}
                if account:
                    kwargs["QueueOwnerAWSAccountId"] = account
                self._queue_url = self._sqs.get_queue_url(**kwargs)["QueueUrl"]
        return self._queue_url

    def send(self, document: Mapping[str, Any], *, source_part: str) -> None:
        """Deliver one on-failure ``document``; ``source_part`` (partition or shard id) goes in S3 keys."""
        if self.destination is None:
            return
        body = json.dumps(document, separators=(",", ":"))
        kind = self.destination.kind
        if kind == "sqs":
            self._sqs.send_message(QueueUrl=self._sqs_url(), MessageBody=body)
        elif kind == "sns":
            self._sns.publish(TopicArn=self.destination.target, Message=body)
        elif kind == "s3":
            bucket = self.destination.target
            if bucket.startswith("arn:"):
                bucket = arn_parts(bucket)[5]
            now = datetime.now(UTC)
            # AWS's object key layout for ESM on-failure records.
            key = f"aws/lambda/{self.mapping_id}/{source_part}/{now:%Y/%m/%d}/{now:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
            self._s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
        elif kind == "kafka":
            topic = self.destination.target.removeprefix("kafka://")
            self._produce(topic, [(key, json.dumps(message, separators=(",", ":")).encode("utf-8"))
                                  for key, message in kafka_destination_messages(document)])
        else:  # pragma: no cover - MappingSpec restricts kinds
            raise ValueError(f"unknown destination kind {kind}")

    def _produce(self, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
        """Produce ``(key, value)`` messages and wait for all of them (any failure raises: the batch stays
        unresolved and is sent again, so a message may be produced twice, never lost)."""
        if self._producer is None:
            assert self._producer_factory is not None
            self._producer = self._producer_factory()
        errors: list[Any] = []

        def _report(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(err)

        for key, value in messages:
            self._producer.produce(topic, key=key, value=value, on_delivery=_report)
        remaining = self._producer.flush(10)
        if errors or remaining:
            raise RuntimeError(f"kafka destination {topic}: {errors or 'delivery timed out'}")

    def close(self) -> None:
        """Flush a Kafka producer if one was made."""
        if self._producer is not None:
            self._producer.flush(5)
            self._producer = None
