"""AWS Kafka event (MSK or self-managed) -> transport-neutral records for the ingest service."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from logistics.service.ingest import InboundRecord


def _b64(text: str | None) -> bytes | None:
    if text is None:
        return None
    return base64.b64decode(text, validate=True)


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
                value = _b64(raw.get("value"))
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
