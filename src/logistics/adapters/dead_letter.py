"""Dead letters on DynamoDB: poison records with the reason and the original bytes, for the dashboard
to list (a Query per merchant) and replay.

Each dead letter stands alone: every field a producer controls is bounded (an oversized part is cut to a
prefix with its length and sha256), so the item always fits DynamoDB's 400 KB; a letter DynamoDB still
refuses is written again cut to its minimum, and a refusal never fails the other letters of the batch.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from logistics.adapters.dynamodb_timeline import batch_write
from logistics.contracts import is_id
from logistics.domain.ports import DeadLetter, Unstorable

UNATTRIBUTED = "_unattributed"  # no merchant could be read from the record
RETENTION_S = 14 * 24 * 3600
# An oversized value (above MAX_EVENT_BYTES) can never be ingested, so replaying it is pointless: its dead
# letter keeps this many leading bytes, its length and its sha256 (a small item: 1-2 write units, not ~90).
OVERSIZED_PREFIX_BYTES = 256
# Bounds of the other fields (whatever MAX_EVENT_BYTES is set to, a letter stays far below 400 KB).
MAX_VALUE_BYTES = 128 * 1024  # a larger value is cut like an oversized one (base64: ~171 KB)
MAX_KEY_BYTES = 1024
MAX_HEADER_NAME_CHARS = 255
MAX_HEADERS_BYTES = 8 * 1024  # names and base64 values together
MAX_REASON_CHARS = 1000
MAX_SOURCE_CHARS = 300


def _cut(data: bytes, name: str) -> dict[str, Any]:
    return {
        f"{name}_prefix_b64": base64.b64encode(data[:OVERSIZED_PREFIX_BYTES]).decode(),
        f"{name}_bytes": len(data),
        f"{name}_sha256": hashlib.sha256(data).hexdigest(),
        f"{name}_truncated": True,
    }


def _value_attributes(letter: DeadLetter) -> dict[str, Any]:
    value = letter.value
    if value is None:
        return {"value_b64": None}
    if letter.oversized or len(value) > MAX_VALUE_BYTES:
        return _cut(value, "value")
    # Every other poison keeps its whole bytes: it is replayable from the dashboard.
    return {"value_b64": base64.b64encode(value).decode()}


def _key_attributes(key: bytes | None) -> dict[str, Any]:
    if key is not None and len(key) > MAX_KEY_BYTES:
        return _cut(key, "key")
    return {"key_b64": base64.b64encode(key).decode() if key is not None else None}


def _text(value: str, limit: int) -> str:
    """Valid Unicode text (a lone surrogate becomes U+FFFD) of at most ``limit`` characters."""
    clean = value.encode("utf-8", "replace").decode("utf-8") if not _is_text(value) else value
    return clean if len(clean) <= limit else f"{clean[: limit - 1]}… ({len(clean)} characters)"


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _header_attributes(headers: dict[str, bytes]) -> dict[str, Any]:
    kept: dict[str, str] = {}
    dropped = 0
    budget = MAX_HEADERS_BYTES
    for name, data in headers.items():
        encoded = base64.b64encode(data).decode()
        cost = len(name.encode("utf-8", "replace")) + len(encoded)
        if not name or len(name) > MAX_HEADER_NAME_CHARS or not _is_text(name) or cost > budget:
            dropped += 1
            continue
        kept[name] = encoded
        budget -= cost
    attributes: dict[str, Any] = {"headers": kept}
    if dropped:
        attributes["headers_dropped"] = dropped
    return attributes


def dead_letter_item(letter: DeadLetter, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    source = _text(letter.source, MAX_SOURCE_CHARS)
    topic_partition, _, offset = source.rpartition("@")
    return {
        "merchant_id": letter.merchant_id if is_id(letter.merchant_id) else UNATTRIBUTED,
        # Deterministic: a redelivered poison record overwrites its own dead letter.
        "dlq_key": f"{letter.timestamp_ms:013d}#{source}",
        "source": source,
        "topic_partition": topic_partition,
        "offset": int(offset) if offset.isdigit() and len(offset) < 20 else None,
        "reason": _text(letter.reason, MAX_REASON_CHARS),
        "event_id": letter.event_id if is_id(letter.event_id) else None,
        **_value_attributes(letter),
        **_key_attributes(letter.key),
        **_header_attributes(letter.headers),
        "record_timestamp_ms": letter.timestamp_ms,
        "dead_lettered_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
        "state": "dead",
        "expires_at": int(now) + RETENTION_S,
    }


def minimal_item(letter: DeadLetter, why: str, now: float | None = None) -> dict[str, Any]:
    """The letter cut to what always fits: keys, reason, and the value's length and sha256 only."""
    item = dead_letter_item(letter, now)
    for name in [k for k in item if k.startswith(("value_", "key_", "headers"))]:
        del item[name]
    item.update(_cut(letter.value, "value") if letter.value is not None else {"value_b64": None})
    item["reason"] = _text(f"{letter.reason} [dead letter cut to its minimum: {why}]", MAX_REASON_CHARS)
    item["headers"] = {}
    return item


class DynamoDBDeadLetters:
    """The DeadLetterSink port on DeadLetterTable."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def put(self, letters: Sequence[DeadLetter]) -> dict[int, Exception]:
        now = time.time()
        errors = batch_write(self.client, self.table, [dead_letter_item(letter, now) for letter in letters])
        refused = [position for position, error in errors.items() if isinstance(error, Unstorable)]
        if refused:
            retry = batch_write(self.client, self.table,
                                [minimal_item(letters[p], str(errors[p]), now) for p in refused])
            for n, position in enumerate(refused):
                if n in retry:
                    errors[position] = retry[n]
                else:
                    del errors[position]
        return errors
