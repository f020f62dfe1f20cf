"""Dead letters on DynamoDB: poison records with the reason and the original bytes, for the dashboard
to list (a Query per merchant) and replay."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from logistics.adapters.dynamodb_timeline import batch_write
from logistics.domain.ports import DeadLetter

UNATTRIBUTED = "_unattributed"  # no merchant could be read from the record
RETENTION_S = 14 * 24 * 3600
# An oversized value (above MAX_EVENT_BYTES) can never be ingested, so replaying it is pointless: its dead
# letter keeps this many leading bytes, its length and its sha256 (a small item: 1-2 write units, not ~90).
OVERSIZED_PREFIX_BYTES = 256


def _value_attributes(letter: DeadLetter) -> dict[str, Any]:
    value = letter.value
    if value is None:
        return {"value_b64": None}
    if letter.oversized:
        return {
            "value_prefix_b64": base64.b64encode(value[:OVERSIZED_PREFIX_BYTES]).decode(),
            "value_bytes": len(value),
            "value_sha256": hashlib.sha256(value).hexdigest(),
            "value_truncated": True,
        }
    # Every other poison keeps its whole bytes: it is replayable from the dashboard.
    return {"value_b64": base64.b64encode(value).decode()}


def dead_letter_item(letter: DeadLetter, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    topic_partition, _, offset = letter.source.rpartition("@")
    return {
        "merchant_id": letter.merchant_id or UNATTRIBUTED,
        # Deterministic: a redelivered poison record overwrites its own dead letter.
        "dlq_key": f"{letter.timestamp_ms:013d}#{letter.source}",
        "source": letter.source,
        "topic_partition": topic_partition,
        "offset": int(offset) if offset.isdigit() else None,
        "reason": letter.reason,
        "event_id": letter.event_id,
        **_value_attributes(letter),
        "key_b64": base64.b64encode(letter.key).decode() if letter.key is not None else None,
        "headers": {k: base64.b64encode(v).decode() for k, v in letter.headers.items()},
        "record_timestamp_ms": letter.timestamp_ms,
        "dead_lettered_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
        "state": "dead",
        "expires_at": int(now) + RETENTION_S,
    }


class DynamoDBDeadLetters:
    """The DeadLetterSink port on DeadLetterTable."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def put(self, letters: Sequence[DeadLetter]) -> list[int]:
        return batch_write(self.client, self.table, [dead_letter_item(letter) for letter in letters])
