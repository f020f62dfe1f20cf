"""AWS Kafka event (MSK or self-managed) -> transport-neutral records for the ingest service.

A value may arrive in three shapes, all handled here so the service always sees the event's JSON bytes:

* a mapping with ``SchemaRegistryConfig`` and ``EventRecordFormat: JSON`` delivers the deserialized JSON
  (``valueSchemaMetadata`` says which schema version validated it); ``SOURCE`` delivers the data bytes
  with the registry framing removed: both are plain JSON text;
* a mapping WITHOUT a registry delivers what registry-aware producers wrote: the Glue wire format
  (byte 0 = 3, byte 1 = compression 0 or 5/zlib, 16 bytes of schema version id, then the data), whose
  framing is removed here (JSON text never starts with byte 3);
* old or raw producers: plain JSON text, unchanged.

The contract is validated again in the service either way (defence in depth, docs/SCHEMA_REGISTRY.md).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from logistics.service.ingest import InboundRecord


def _b64(text: str | None) -> bytes | None:
    if text is None:
        return None
    return base64.b64decode(text, validate=True)


_GLUE_HEADER = 18  # version byte, compression byte, 16-byte schema version UUID


def unframe_glue(value: bytes | None) -> bytes | None:
    """The data of a Glue Schema Registry framed value (zlib undone); any other value unchanged.

    A framed value whose compression byte is unknown or whose zlib data is corrupt is returned as is, so
    it fails contract parsing and is dead-lettered with its original bytes.
    """
    if value is None or len(value) < _GLUE_HEADER or value[0] != 3:
        return value
    data = value[_GLUE_HEADER:]
    if value[1] == 0:
        return data
    if value[1] == 5:
        try:
            return zlib.decompress(data)
        except zlib.error:
            return value
    return value


def record_id(topic: str, partition: int, offset: int) -> tuple[str, int]:
    """The identity AWS uses in a Kafka partial batch response."""
    return (f"{topic}-{partition}", offset)


def inbound_records(event: dict[str, Any]) -> list[InboundRecord]:
    """Every record of the event, partitions in payload order, offsets in order within each.

    An event without records (``{}``, ``{"records": {}}``, ``{"records": {"t-0": []}}``) gives none.
    """
    records: list[InboundRecord] = []
    partitions = event.get("records") if isinstance(event, dict) else None
    for batch in (partitions or {}).values() if isinstance(partitions, dict) else ():
        for raw in batch or ():
            topic, partition, offset = raw["topic"], int(raw["partition"]), int(raw["offset"])
            headers: dict[str, bytes] = {}
            error = None
            value = key = None
            try:
                for header in raw.get("headers") or []:
                    for name, data in header.items():
                        # Java bytes are signed: AWS may send 0x80-0xFF as -128..-1.
                        headers[str(name)] = bytes(b & 0xFF for b in data)
                value = unframe_glue(_b64(raw.get("value")))
                key = _b64(raw.get("key"))
            except (binascii.Error, ValueError, TypeError, AttributeError) as exc:
                error = f"record is not valid base64 / byte data: {exc}"[:500]
            try:
                timestamp = int(raw.get("timestamp") or 0)
            except (ValueError, TypeError):
                timestamp = 0
            records.append(
                InboundRecord(
                    id=record_id(topic, partition, offset),
                    source=f"{topic}-{partition}@{offset}",
                    value=value,
                    key=key,
                    timestamp_ms=timestamp,
                    headers=headers,
                    decode_error=error,
                )
            )
    return records
