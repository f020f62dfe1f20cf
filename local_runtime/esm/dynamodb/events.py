"""Pure builders of the records AWS Lambda delivers from a DynamoDB Streams event-source mapping, made
from ``dynamodbstreams.GetRecords`` output, and of the on-failure record for a discarded batch.

GetRecords (through boto3) differs from what Lambda delivers in a few ways that we correct here:

* ``ApproximateCreationDateTime`` comes back as a ``datetime``; Lambda sends epoch SECONDS as a number,
  rounded down to the second (moto keeps milliseconds).
* binary attribute values (``B``/``BS``, at any depth of ``M``/``L``) come back as ``bytes``; Lambda sends
  them base64-encoded, as DynamoDB JSON does.
* moto fixes ``awsRegion`` to us-east-1 and ``eventVersion`` to "1.0"; Lambda's records carry the
  deployment region and "1.1", and ``eventSourceARN`` (the stream ARN) which GetRecords lacks.

On-failure record (``DDBStreamBatchInfo``) follows AWS's documented example: sequence numbers as strings,
``approximateArrivalOf*`` as ISO-8601 UTC; SQS/SNS destinations get metadata only, S3 also ``payload``.
The shapes are summarised in docs/AWS_EVENT_SOURCES.md.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Unpack

from local_runtime.esm.on_failure import FailureFields, iso_ms, on_failure_envelope
from local_runtime.esm.payload import event_payload_size

__all__ = [
    "attribute_value_to_json",
    "build_stream_event",
    "build_stream_on_failure_record",
    "build_stream_record",
    "creation_epoch_seconds",
    "image_to_json",
]


def creation_epoch_seconds(value: datetime | float | int | str) -> int:
    """``ApproximateCreationDateTime`` as Lambda sends it: epoch seconds, rounded down to the second
    (DynamoDB Streams documents the value as "rounded down to the closest second"; moto keeps ms)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        seconds = value.timestamp()
    else:
        seconds = float(value)
    return math.floor(seconds)


def _b64(data: bytes | bytearray | str) -> str:
    if isinstance(data, str):
        # Already base64 (e.g. the record came from a JSON source rather than boto3).
        return data
    return base64.b64encode(bytes(data)).decode("ascii")


def attribute_value_to_json(av: Mapping[str, Any]) -> dict[str, Any]:
    """One typed DynamoDB attribute value (``{"S": "x"}``) made JSON-safe (binary -> base64)."""
    if not av:
        # DynamoDB Local's stream images carry an empty map as a bare {} (its GetItem says {"M": {}}, and an
        # empty list keeps its {"L": []}), so a bare {} can only have been an empty map.
        return {"M": {}}
    if len(av) != 1:
        raise ValueError(f"not a DynamoDB attribute value: {av!r}")
    ((tag, val),) = av.items()
    if tag == "B":
        return {"B": _b64(val)}
    if tag == "BS":
        return {"BS": [_b64(v) for v in val]}
    if tag == "M":
        return {"M": {k: attribute_value_to_json(v) for k, v in val.items()}}
    if tag == "L":
        return {"L": [attribute_value_to_json(v) for v in val]}
    if tag in ("SS", "NS"):
        return {tag: list(val)}
    # S, N (string digits), BOOL, NULL pass through unchanged.
    return {tag: val}


def image_to_json(image: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A whole image (``Keys``, ``NewImage``, ``OldImage``) in typed JSON."""
    return {name: attribute_value_to_json(av) for name, av in image.items()}


def build_stream_record(raw: Mapping[str, Any], *, region: str, stream_arn: str) -> dict[str, Any]:
    """One Lambda DynamoDB stream record from one ``GetRecords`` ``Records[]`` entry.

    Field order follows AWS's sample events. ``userIdentity`` (present for TTL deletions) is kept.
    """
    ddb_in = raw["dynamodb"]
    ddb: dict[str, Any] = {}
    if "ApproximateCreationDateTime" in ddb_in:
        ddb["ApproximateCreationDateTime"] = creation_epoch_seconds(ddb_in["ApproximateCreationDateTime"])
    ddb["Keys"] = image_to_json(ddb_in.get("Keys", {}))
    if "NewImage" in ddb_in:
        ddb["NewImage"] = image_to_json(ddb_in["NewImage"])
    if "OldImage" in ddb_in:
        ddb["OldImage"] = image_to_json(ddb_in["OldImage"])
    ddb["SequenceNumber"] = str(ddb_in["SequenceNumber"])
    ddb["SizeBytes"] = int(ddb_in.get("SizeBytes", 0))
    ddb["StreamViewType"] = ddb_in["StreamViewType"]
    record: dict[str, Any] = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }
    if raw.get("userIdentity"):
        record["userIdentity"] = dict(raw["userIdentity"])
    return record


def build_stream_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The invocation event: ``{"Records": [...]}`` in shard (sequence number) order."""
    return {"Records": [dict(r) for r in records]}


def _arrival_iso(record: Mapping[str, Any]) -> str:
    ts = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if ts is None:
        return iso_ms(datetime.now(UTC))
    return iso_ms(float(ts))


def build_stream_on_failure_record(
    records: Sequence[Mapping[str, Any]],
    *,
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    include_payload: bool = False,
    **fields: Unpack[FailureFields],
) -> dict[str, Any]:
    """The JSON document Lambda sends to an on-failure destination for a discarded stream batch.

    ``records`` are Lambda stream records (see :func:`build_stream_record`) in shard order.
    ``include_payload`` adds the invocation event as ``payload`` (S3 destinations). ``fields`` are those
    of :func:`~local_runtime.esm.on_failure.on_failure_envelope` (``approximate_invoke_count`` is required).
    """
    if not records:
        raise ValueError("an on-failure record describes at least one stream record")
    doc = on_failure_envelope(function_arn=function_arn, **fields)
    doc["DDBStreamBatchInfo"] = {
        "shardId": shard_id,
        "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
        "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
        "approximateArrivalOfFirstRecord": _arrival_iso(records[0]),
        "approximateArrivalOfLastRecord": _arrival_iso(records[-1]),
        "batchSize": len(records),
        "streamArn": stream_arn,
    }
    if include_payload:
        doc["payload"] = build_stream_event(records)
    return doc


def stream_event_payload_size(records: Iterable[Mapping[str, Any]]) -> int:
    """Bytes of the invocation event holding ``records``."""
    return event_payload_size(build_stream_event(records))
