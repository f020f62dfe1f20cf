"""Pure builders of the exact event AWS Lambda delivers from a Kafka event-source mapping (Amazon MSK
or self-managed Apache Kafka), and of the on-failure record it sends to a destination.

Shapes follow the AWS Lambda developer guide (summarised in docs/AWS_EVENT_SOURCES.md). Choices where
AWS is silent or only shows examples (each checked against public evidence where there was any):

* ``key`` is ABSENT when the message has no key (AWS omits the field; Powertools models it optional).
* ``value`` is ABSENT when the message value is null (a tombstone). AWS omits it the same way it omits
  a null key: Powertools for TypeScript first handled ``value: null`` (issue #4988) and then had to
  handle the field being missing altogether in real MSK events (follow-up issue #5016, PR #5017).
  Consequence for handlers: Powertools *Python*'s ``KafkaRecordModel`` requires ``value``, so a handler
  that parses whole events with it rejects a batch holding a tombstone; read ``record.get("value")``.
* header values are lists of SIGNED byte integers (-128..127): Lambda's poller serialises Java
  ``byte[]`` (aws-lambda-java-events ``List<Map<String, byte[]>>``); Powertools Python issue #6862 shows
  ``[..., -61, -85]`` for "ë", and Go/.NET event types were changed to int8/sbyte for the same reason.
  ASCII header values are therefore their plain byte values (``"ab"`` is ``[97, 98]``). A header whose
  value is null is emitted as ``[]`` (unverified; ``null`` would crash Powertools' header decoding).
* ``timestampType`` is ``CREATE_TIME`` or ``LOG_APPEND_TIME``; a message without a timestamp (librdkafka
  type NOT_AVAILABLE) is reported as ``CREATE_TIME`` with timestamp -1.
* on-failure ``KafkaBatchInfo.recordsInfo`` offsets are strings and its timestamps ISO-8601 UTC with
  milliseconds, as in AWS's documented example; ``eventSourceArn`` is omitted for self-managed Kafka.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Unpack

from local_runtime.esm.on_failure import FailureFields, iso_ms, on_failure_envelope
from local_runtime.esm.payload import event_payload_size

__all__ = [
    "KafkaMessage",
    "build_kafka_event",
    "build_kafka_on_failure_record",
    "build_kafka_record",
    "event_payload_size",
    "headers_to_aws",
    "iso_ms",
    "message_from_confluent",
    "partition_key",
]

# event_payload_size and iso_ms come from the core (local_runtime.esm.payload / .on_failure); they are
# re-exported here for existing imports.

TimestampType = Literal["CREATE_TIME", "LOG_APPEND_TIME"]


@dataclass(frozen=True)
class KafkaMessage:
    """A consumed Kafka message, independent of the client library (so the builders stay pure)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    timestamp_type: TimestampType = "CREATE_TIME"
    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[tuple[str, bytes | None], ...] = field(default_factory=tuple)


def message_from_confluent(msg: Any) -> KafkaMessage:
    """Convert a ``confluent_kafka.Message`` (without error) into a :class:`KafkaMessage`."""
    ts_type, ts = msg.timestamp()
    # confluent_kafka: TIMESTAMP_NOT_AVAILABLE=0, TIMESTAMP_CREATE_TIME=1, TIMESTAMP_LOG_APPEND_TIME=2
    timestamp_type: TimestampType = "LOG_APPEND_TIME" if ts_type == 2 else "CREATE_TIME"
    if ts_type == 0:
        ts = -1
    return KafkaMessage(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        timestamp_ms=int(ts),
        timestamp_type=timestamp_type,
        key=msg.key(),
        value=msg.value(),
        headers=tuple((k, v) for k, v in (msg.headers() or [])),
    )


def partition_key(topic: str, partition: int) -> str:
    """The ``records`` map key AWS uses: ``"<topic>-<partition>"``."""
    return f"{topic}-{partition}"


def _b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def _signed_bytes(data: bytes) -> list[int]:
    # Java bytes are signed: 0x80..0xFF become -128..-1.
    return [b - 256 if b > 127 else b for b in data]


def headers_to_aws(headers: Iterable[tuple[str, bytes | str | None]]) -> list[dict[str, list[int]]]:
    """Kafka headers as AWS sends them: one single-entry object per header, in order, duplicates kept."""
    out: list[dict[str, list[int]]] = []
    for name, value in headers:
        if value is None:
            out.append({name: []})
        else:
            raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            out.append({name: _signed_bytes(raw)})
    return out


def build_kafka_record(msg: KafkaMessage) -> dict[str, Any]:
    """One record of the ``records`` map, fields in AWS's order; ``key``/``value`` absent when null."""
    record: dict[str, Any] = {
        "topic": msg.topic,
        "partition": msg.partition,
        "offset": msg.offset,
        "timestamp": msg.timestamp_ms,
        "timestampType": msg.timestamp_type,
    }
    if msg.key is not None:
        record["key"] = _b64(msg.key)
    if msg.value is not None:
        record["value"] = _b64(msg.value)
    record["headers"] = headers_to_aws(msg.headers)
    return record


def _servers(bootstrap_servers: str | Sequence[str]) -> str:
    if isinstance(bootstrap_servers, str):
        return bootstrap_servers
    return ",".join(bootstrap_servers)


def build_kafka_event(
    records: Iterable[KafkaMessage | Mapping[str, Any]],
    *,
    bootstrap_servers: str | Sequence[str],
    source: Literal["MSK", "SelfManagedKafka"] = "MSK",
    cluster_arn: str | None = None,
) -> dict[str, Any]:
    """The invocation event for a batch.

    ``records`` are :class:`KafkaMessage` objects or already built record dicts. They are grouped by
    ``"<topic>-<partition>"`` (groups in order of first appearance) and each group is sorted by offset,
    so one payload can carry several partitions, each in offset order.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        rec = build_kafka_record(r) if isinstance(r, KafkaMessage) else dict(r)
        grouped.setdefault(partition_key(rec["topic"], rec["partition"]), []).append(rec)
    for recs in grouped.values():
        recs.sort(key=lambda rec: rec["offset"])
    event: dict[str, Any]
    if source == "MSK":
        if not cluster_arn:
            raise ValueError("an MSK event needs the cluster ARN (eventSourceArn)")
        event = {"eventSource": "aws:kafka", "eventSourceArn": cluster_arn}
    else:
        event = {"eventSource": "SelfManagedKafka"}
    event["bootstrapServers"] = _servers(bootstrap_servers)
    event["records"] = grouped
    return event


def build_kafka_on_failure_record(
    event: Mapping[str, Any],
    *,
    function_arn: str,
    include_payload: bool = False,
    **fields: Unpack[FailureFields],
) -> dict[str, Any]:
    """The JSON document Lambda sends to an on-failure destination for a discarded Kafka batch.

    ``event`` is the invocation event of the batch (see :func:`build_kafka_event`). ``include_payload``
    adds the whole event as ``payload``: AWS does that for S3 and Kafka destinations only (SQS and SNS
    get metadata). ``function_error`` is omitted from ``responseContext`` when ``None`` (e.g. the batch
    failed through a partial batch response rather than an unhandled error). ``fields`` are those of
    :func:`~local_runtime.esm.on_failure.on_failure_envelope` (``approximate_invoke_count`` is required).
    """
    records_info: dict[str, dict[str, str]] = {}
    batch_size = 0
    for key, recs in event["records"].items():
        if not recs:
            continue
        batch_size += len(recs)
        first, last = recs[0], recs[-1]
        records_info[key] = {
            "firstRecordOffset": str(first["offset"]),
            "lastRecordOffset": str(last["offset"]),
            "firstRecordTimestamp": iso_ms(first["timestamp"] / 1000.0),
            "lastRecordTimestamp": iso_ms(last["timestamp"] / 1000.0),
        }
    batch_info: dict[str, Any] = {"batchSize": batch_size}
    if event.get("eventSourceArn"):
        batch_info["eventSourceArn"] = event["eventSourceArn"]
    batch_info["bootstrapServers"] = event.get("bootstrapServers", "")
    batch_info["payloadSize"] = event_payload_size(event)
    batch_info["recordsInfo"] = records_info
    doc = on_failure_envelope(function_arn=function_arn, **fields)
    doc["KafkaBatchInfo"] = batch_info
    if include_payload:
        doc["payload"] = dict(event)
    return doc
