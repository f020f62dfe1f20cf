"""Lambda's invocation payload limit and the size of a payload as Lambda serialises it.

Both mappings close a batch before its event would pass the limit (see docs/AWS_EVENT_SOURCES.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_PAYLOAD_BYTES", "event_payload_size", "json_size"]

# Synchronous invoke payload limit; a batch closes before the event would exceed it.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


def json_size(value: Any) -> int:
    """Length of ``value`` as compact JSON (ASCII-escaped, so characters are bytes)."""
    return len(json.dumps(value, separators=(",", ":")))


def event_payload_size(event: Mapping[str, Any]) -> int:
    """Bytes of the JSON document Lambda would send (compact separators, as AWS serialises)."""
    return len(json.dumps(event, separators=(",", ":")).encode("utf-8"))
