"""Dead letters on DynamoDB: poison records with the reason and the original bytes, for the dashboard
to list (a Query per merchant) and replay."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from logistics.adapters.dynamodb_timeline import batch_write
from logistics.domain.ports import DeadLetter

UNATTRIBUTED = "_unattributed"  # no merchant could be read from the record
RETENTION_S = 14 * 24 * 3600


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
        "value_b64": base64.b64encode(letter.value).decode() if letter.value is not None else None,
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
