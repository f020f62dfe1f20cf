"""Dead letters on DynamoDB: poison records with the reason and the original bytes, for the dashboard
to list (a Query per merchant) and replay.

Each dead letter stands alone: every field a producer controls is bounded (an oversized part is cut to a
prefix with its length and sha256), so the item always fits DynamoDB's 400 KB; a letter DynamoDB still
refuses is written again cut to its minimum, and a refusal never fails the other letters of the batch.
"""

from __future__ import annotations

import base64
import hashlib
import json
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


# -- records a Kafka trigger gave up on (its kafka:// on-failure destination) ------------------------------

# What each condition of an on-failure record means, for the reason a dead letter shows.
_CONDITIONS = {
    "DESERIALIZATION_ERROR": "the Kafka trigger's schema registry could not deserialize or validate the record",
    "SCHEMA_NOT_FOUND": "the record names a schema version the trigger's schema registry does not have",
    "RetryAttemptsExhausted": "the ingest function failed on the record until its retries ran out",
    "RetriesExhausted": "the ingest function failed on the record until its retries ran out",
    "MaximumPayloadSizeExceeded": "the record is larger than Lambda's invocation payload limit",
    "RecordAgeExceeded": "the record was older than the trigger's maximum record age",
}


def _b64_or_none(value: Any) -> bytes | None:
    return base64.b64decode(value) if isinstance(value, str) else None


def _header_bytes(headers: Any) -> dict[str, bytes]:
    """Lambda's Kafka headers (one-entry objects of signed byte lists) as name -> bytes (last one wins)."""
    out: dict[str, bytes] = {}
    for header in headers if isinstance(headers, list) else []:
        for name, data in header.items() if isinstance(header, dict) else []:
            if isinstance(data, list):
                out[str(name)] = bytes(b & 0xFF for b in data if isinstance(b, int))
    return out


def _ids_of(value: bytes | None) -> tuple[str | None, str | None]:
    """``merchant_id`` and ``event_id`` when the value is a JSON object naming valid ones."""
    try:
        payload = json.loads(value) if value else None
    except ValueError:
        return None, None
    if not isinstance(payload, dict):
        return None, None
    merchant, event = payload.get("merchant_id"), payload.get("event_id")
    return (merchant if is_id(merchant) else None), (event if is_id(event) else None)


def letters_from_failure_message(message: bytes, *, max_event_bytes: int | None = None) -> list[DeadLetter]:
    """The dead letters of one message of a Kafka on-failure destination (AWS's record format: failure
    metadata plus ``payload``, the invocation event holding the failed record), one per record it carries.

    A value above ``max_event_bytes`` (the ingest's own limit) is marked oversized, as the ingest function
    marks it: it can never be ingested, so its letter keeps a prefix, its length and its sha256.

    ``source`` is ``<topic>-<partition>@<offset>`` like an in-function dead letter of the same record, so
    the letter's key is the same whichever path filed it: filing a record again overwrites its letter.
    Raises ``ValueError`` for a message that is not such a record (nothing to file: the caller reports it).
    """
    doc = json.loads(message)
    if not isinstance(doc, dict) or not isinstance(doc.get("payload"), dict):
        raise ValueError("not an on-failure record with a payload")
    condition = str((doc.get("requestContext") or {}).get("condition") or "unknown")
    function = str((doc.get("requestContext") or {}).get("functionArn") or "").rsplit(":function:", 1)[-1]
    why = _CONDITIONS.get(condition, "the Kafka trigger gave the record up")
    reason = f"{condition}: {why} ({function}'s on-failure destination)" if function else f"{condition}: {why}"
    letters: list[DeadLetter] = []
    for records in (doc["payload"].get("records") or {}).values():
        for record in records:
            value = _b64_or_none(record.get("value"))
            merchant_id, event_id = _ids_of(value)
            letters.append(DeadLetter(
                source=f"{record['topic']}-{int(record['partition'])}@{int(record['offset'])}",
                reason=reason,
                value=value,
                key=_b64_or_none(record.get("key")),
                timestamp_ms=int(record.get("timestamp") or 0),
                headers=_header_bytes(record.get("headers")),
                merchant_id=merchant_id,
                event_id=event_id,
                oversized=max_event_bytes is not None and value is not None and len(value) > max_event_bytes,
            ))
    return letters
