"""Dead-letter items: whole bytes for replayable poison, a small cut for oversized values."""

from __future__ import annotations

import base64
import hashlib

from logistics.adapters.dead_letter import OVERSIZED_PREFIX_BYTES, dead_letter_item
from logistics.domain.ports import DeadLetter


def letter(value: bytes | None, *, oversized: bool = False) -> DeadLetter:
    return DeadLetter(source="shipment-events-0@7", reason="r", value=value, key=b"k", timestamp_ms=1,
                      headers={"h": b"v"}, merchant_id="m1", oversized=oversized)


def test_poison_keeps_its_whole_value_to_be_replayed() -> None:
    value = b'{"event_type": "teleported"' + b" " * 5000 + b"}"
    item = dead_letter_item(letter(value), now=0)
    assert base64.b64decode(item["value_b64"]) == value
    assert "value_truncated" not in item and "value_prefix_b64" not in item


def test_an_oversized_value_is_cut_to_a_prefix_with_its_length_and_sha256() -> None:
    value = bytes(range(256)) * 400  # 102,400 bytes
    item = dead_letter_item(letter(value, oversized=True), now=0)
    assert "value_b64" not in item
    assert base64.b64decode(item["value_prefix_b64"]) == value[:OVERSIZED_PREFIX_BYTES]
    assert item["value_bytes"] == len(value)
    assert item["value_sha256"] == hashlib.sha256(value).hexdigest()
    assert item["value_truncated"] is True
    # a small item: everything together stays under one write unit
    assert sum(len(k) + len(str(v)) for k, v in item.items()) < 1024


def test_no_value_stays_no_value() -> None:
    assert dead_letter_item(letter(None), now=0)["value_b64"] is None


def test_every_field_a_producer_controls_is_bounded() -> None:
    huge = DeadLetter(source="shipment-events-0@7", reason="r" * 100_000, value=b"v" * 300_000, key=b"k" * 50_000,
                      timestamp_ms=1, headers={f"h{n}": b"x" * 5000 for n in range(50)} | {"": b"1", "\ud800": b"2"},
                      merchant_id="a#b", event_id="e" * 500)
    item = dead_letter_item(huge, now=0)
    assert item["merchant_id"] == "_unattributed" and item["event_id"] is None
    assert item["value_truncated"] and item["value_bytes"] == 300_000 and "value_b64" not in item
    assert item["key_truncated"] and item["key_bytes"] == 50_000
    assert item["key_sha256"] == hashlib.sha256(b"k" * 50_000).hexdigest()
    assert len(item["reason"]) <= 1100 and item["headers_dropped"] >= 2
    assert sum(len(k) + len(v) for k, v in item["headers"].items()) <= 8 * 1024
    assert len(str(item)) < 20_000
