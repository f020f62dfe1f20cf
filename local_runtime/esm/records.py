"""The state both mappings keep for one source record, from the moment it is read until it is resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PendingRecord"]


@dataclass(eq=False)
class PendingRecord:
    """A record read from the source and not yet committed or checkpointed.

    It is *resolved* once it was processed, filtered out, sent to the on-failure destination or
    discarded; a source only moves its committed position over resolved records. Sources subclass it
    to keep what they need for that (a Kafka message, a sequence number). ``eq=False``: records are
    compared by identity, two reads of equal content are different records.
    """

    record: dict[str, Any]  # the record as it appears in the Lambda event
    size: int  # conservative contribution to the event's JSON size
    arrived: float  # monotonic time it was read (starts the batching window)
    resolved: bool = field(default=False, kw_only=True)
