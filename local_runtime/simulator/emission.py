"""Time, seeded identifiers and the unit of output (:class:`Emission`) of the simulated world.

Simulated instants are UTC datetimes in whole milliseconds; events state them in the local time of
where they happened (:func:`local_iso`). Ids come from seeded generators, never ``uuid4``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from local_runtime.simulator.merchants import Merchant

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_iso(at: datetime, tz: str) -> str:
    """``at`` as ISO 8601 in the local time of ``tz``, with that zone's UTC offset at that instant.

    Whole seconds unless ``at`` has a fractional part (device ticks use .500 to never tie with scans).
    """
    local = at.astimezone(zone(tz))
    return local.isoformat(timespec="milliseconds" if at.microsecond else "seconds")


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the epoch (simulated instants are whole milliseconds, so the float is exact)."""
    return round(at.timestamp() * 1000)


# Crockford base32 (no I, L, O, U), two characters (10 bits) per step: ids keep numeric order as text.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)


def _base32(value: int, length: int) -> str:
    """The low ``5 * length`` bits of ``value`` as ``length`` Crockford characters (``length`` even)."""
    chunks = []
    for _ in range(length // 2):
        chunks.append(_PAIRS[value & 1023])
        value >>= 10
    return "".join(reversed(chunks))


class Ids:
    """Identifiers drawn from a seeded generator, so a seed fixes them (never ``uuid4``)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def event_id(self, at: datetime) -> str:
        """ULID-style: 48-bit time then 80 random bits, so ids sort roughly by occurrence."""
        value = (max(epoch_ms(at), 0) << 80) | self.rng.getrandbits(80)
        return "evt-" + _base32(value, 26)

    def shipment_id(self, prefix: str = "SHP") -> str:
        return f"{prefix}-{_base32(self.rng.getrandbits(60), 12)}"

    def order_ref(self, merchant: Merchant) -> str:
        return f"{merchant.code}-{self.rng.randrange(10**7, 10**8)}"

    def trace_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"


SHIPMENT = "shipment"
WAREHOUSE = "warehouse"


@dataclass(frozen=True)
class Emission:
    """One valid event the world produces: when it happened (UTC), which topic kind, its key, its payload."""

    at: datetime
    kind: str  # SHIPMENT | WAREHOUSE
    key: str  # shipment id or warehouse id: the Kafka key
    payload: dict[str, Any] = field(compare=False)
