"""Real feeds are messy: duplicates, late (out-of-order) events and poison. This module adds all three.

* **duplicate**: the same message again, byte for byte (value, key and headers), soon after the first
  copy (a producer retry or an upstream replay). The platform must change nothing and notify nothing.
* **late**: a valid event held back and sent after some newer ones. Only its *arrival* moves; its
  ``occurred_at`` stays truthful, so the fold in occurrence order gives the same state.
* **poison**: a message the platform must dead-letter: not JSON (``not_json``), JSON that breaks the
  schema (``schema_invalid``), an unknown ``event_type`` (``unknown_event_type``) or a value above the
  ingest size limit (``oversized``). Poison is built from a real event of the stream (same key, fresh
  event id) so it lands in real partitions, next to the entity it pretends to be about.

Shares are fractions of *all* messages produced, so ``NoiseShares(duplicates=0.02, late=0.02,
poison=0.01)`` means about 2 % of the messages are duplicates, 2 % are late valid events and 1 % poison.
All choices come from the injector's own seeded generator.
"""

from __future__ import annotations

import copy
import json
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from local_runtime.simulator.emission import SHIPMENT, Emission, Ids
from local_runtime.simulator.sampling import weighted
from logistics.contracts import ContractError, validate
from logistics.service.ingest import DEFAULT_MAX_EVENT_BYTES

NOT_JSON = "not_json"
SCHEMA_INVALID = "schema_invalid"
UNKNOWN_EVENT_TYPE = "unknown_event_type"
OVERSIZED = "oversized"
POISON_KINDS: tuple[str, ...] = (NOT_JSON, SCHEMA_INVALID, UNKNOWN_EVENT_TYPE, OVERSIZED)

VALID = "valid"
DUPLICATE = "duplicate"
LATE = "late"
POISON = "poison"


@dataclass(frozen=True)
class NoiseShares:
    """Fractions of all produced messages that are duplicates, late valid events and poison.

    ``late_delay`` and ``duplicate_delay`` bound how many later valid events pass before the held-back
    event (or the second copy) is sent. ``poison_kinds`` weights the kinds of poison.
    """

    duplicates: float = 0.02
    late: float = 0.02
    poison: float = 0.01
    late_delay: tuple[int, int] = (3, 150)
    duplicate_delay: tuple[int, int] = (0, 40)
    poison_kinds: tuple[tuple[str, float], ...] = ((NOT_JSON, 0.3), (SCHEMA_INVALID, 0.4),
                                                   (UNKNOWN_EVENT_TYPE, 0.15), (OVERSIZED, 0.15))
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES  # what the ingest rejects as oversized

    def __post_init__(self) -> None:
        for name in ("duplicates", "late", "poison"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} share must be in [0, 1), got {value}")
        if self.duplicates + self.poison + self.late >= 0.9:
            raise ValueError("noise shares leave too little room for valid events")
        for lo, hi in (self.late_delay, self.duplicate_delay):
            if not 0 <= lo <= hi:
                raise ValueError("delays must satisfy 0 <= low <= high")

    @classmethod
    def none(cls) -> NoiseShares:
        return cls(duplicates=0.0, late=0.0, poison=0.0)

    def per_valid_event(self) -> tuple[float, float, float]:
        """Probabilities per valid event (duplicate, late, poison) that give the shares of all messages.

        With V valid events and M messages, V = M * (1 - d - p); late events are valid ones.
        """
        valid = 1.0 - self.duplicates - self.poison
        return self.duplicates / valid, self.late / valid, self.poison / valid


@dataclass(frozen=True)
class Outgoing:
    """One message to produce."""

    kind: str  # SHIPMENT | WAREHOUSE: which topic
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    noise: str  # VALID | DUPLICATE | LATE | POISON
    payload: dict[str, Any] | None = field(default=None, compare=False)  # valid events: the decoded payload
    poison_kind: str | None = None
    detail: str | None = None  # poison: what is wrong with it


def encode(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; key order as built, so equal payloads give equal bytes."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _is_invalid(value: bytes, max_bytes: int) -> bool:
    """True when the ingest must reject ``value`` (size, JSON or contract)."""
    if len(value) > max_bytes:
        return True
    try:
        validate(json.loads(value))
    except (ValueError, ContractError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return True
    return False


class PoisonFactory:
    """Builds poison messages from a real event of the stream."""

    def __init__(self, rng: random.Random, ids: Ids, max_event_bytes: int) -> None:
        self.rng = rng
        self.ids = ids
        self.max_bytes = max_event_bytes

    def make(self, kind: str, template: Emission) -> tuple[bytes, str]:
        """Poison bytes of ``kind`` modelled on ``template``, and a note on what is wrong."""
        payload = copy.deepcopy(template.payload)
        payload["event_id"] = self.ids.event_id(template.at)  # never collide with a real event
        value, detail = getattr(self, f"_{kind}")(payload, template)
        if not _is_invalid(value, self.max_bytes):  # belt and braces: poison must be poison
            payload.pop("event_id")
            value, detail = encode(payload), f"{detail}; event_id removed"
        return value, detail

    def _not_json(self, payload: dict[str, Any], template: Emission) -> tuple[bytes, str]:
        text = encode(payload)
        variant = self.rng.randrange(5)
        if variant == 0:
            # A strict prefix of a JSON object is never valid JSON: its closing brace is missing.
            return text[: self.rng.randint(1, len(text) - 1)], "truncated JSON"
        if variant == 1:
            return b"\xff\xfd" + bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(8, 120))), \
                "binary garbage (not UTF-8)"
        if variant == 2:
            xml = f"<event><id>{payload['event_id']}</id><type>{payload['event_type']}</type></event>"
            return xml.encode(), "XML instead of JSON"
        if variant == 3:
            return text.replace(b'"', b"'"), "single-quoted pseudo-JSON"
        return b"", "empty value"

    def _schema_invalid(self, payload: dict[str, Any], template: Emission) -> tuple[bytes, str]:
        shipment = template.kind == SHIPMENT
        mutations: list[tuple[str, Any]] = [
            ("missing required field", lambda p: p.pop(self.rng.choice(
                ["merchant_id", "occurred_at", "shipment_id" if shipment else "warehouse_id"]))),
            ("occurred_at without UTC offset", lambda p: p.__setitem__("occurred_at", p["occurred_at"][:19])),
            ("schema_version unknown", lambda p: p.__setitem__("schema_version", 99)),
            ("schema_version as string", lambda p: p.__setitem__("schema_version", str(p["schema_version"]))),
            ("unexpected field", lambda p: p.__setitem__("temperature_c", round(self.rng.uniform(-30, 40), 1))),
            ("location country not ISO-2", lambda p: p.__setitem__("location", {**(p.get("location") or {}),
                                                                              "country": "Germany"})),
            ("event_id with spaces", lambda p: p.__setitem__("event_id", "evt " + p["event_id"][4:])),
        ]
        if shipment:
            mutations += [
                ("status not in the status model", lambda p: p.__setitem__("status", self.rng.choice(
                    ["SHIPPED", "delivered", "IN-TRANSIT", "ON_HOLD"]))),
                ("EXCEPTION without exception details",
                 lambda p: (p.__setitem__("status", "EXCEPTION"), p.pop("exception", None))),
                ("correction without correction_of",
                 lambda p: (p.__setitem__("event_type", "correction"), p.pop("correction_of", None))),
                ("eta date malformed", lambda p: p.__setitem__("eta", {"date": "next tuesday"})),
            ]
        else:
            mutations += [
                ("qty as string", lambda p: p.__setitem__("items", [{"sku": "X-1", "qty": "3"}])),
                ("item without sku", lambda p: p.__setitem__("items", [{"qty": 1}])),
            ]
        note, mutate = self.rng.choice(mutations)
        mutate(payload)
        return encode(payload), note

    def _unknown_event_type(self, payload: dict[str, Any], template: Emission) -> tuple[bytes, str]:
        event_type = self.rng.choice(["location_ping", "SHIPMENT_UPDATE", "inventory_sync", "delivered",
                                      "label.created", ""])
        payload["event_type"] = event_type
        return encode(payload), f"event_type {event_type!r}"

    def _oversized(self, payload: dict[str, Any], template: Emission) -> tuple[bytes, str]:
        target = self.max_bytes + self.rng.randint(1, 40_000)
        if self.rng.random() < 0.5:
            # Otherwise valid, only too big: pad with insignificant JSON whitespace after a field.
            text = encode(payload)
            pad = target - len(text)
            return text[:-1] + b" " * pad + b"}", f"{target} bytes (whitespace padded, otherwise valid)"
        payload["attachments"] = ["A" * 1000 for _ in range(target // 1000 + 1)]
        return encode(payload), "proof-of-delivery image inlined into the event"


class NoiseInjector:
    """Turns the stream of valid events into the stream of messages to produce.

    :meth:`pull` takes one valid event from the world, :meth:`pop` hands out the next message to send;
    when stopping, :meth:`drain` returns the valid events still held back, so none is lost. ``held``
    counts them at every moment, which lets the driver stop at an exact message count.
    """

    def __init__(self, shares: NoiseShares, rng: random.Random, ids: Ids, *, source: str = "simulator") -> None:
        self.shares = shares
        self.rng = rng
        self.ids = ids
        self.source = source.encode()
        self.p_duplicate, self.p_late, self.p_poison = shares.per_valid_event()
        self.poison = PoisonFactory(rng, ids, shares.max_event_bytes)
        self._ready: deque[Outgoing] = deque()
        self._late: list[tuple[int, int, Outgoing]] = []  # (release at step, order, message)
        self._dups: list[tuple[int, int, Outgoing]] = []
        self._step = 0  # valid events taken from the source so far
        self._order = 0

    @property
    def held(self) -> int:
        """Valid events held back and not yet handed out by :meth:`pop`."""
        return len(self._late) + sum(1 for o in self._ready if o.noise == LATE)

    def _headers(self, trace_id: str, noise: str | None) -> tuple[tuple[str, bytes], ...]:
        headers: list[tuple[str, bytes]] = [("source", self.source), ("trace_id", trace_id.encode())]
        if noise is not None:
            # For humans and tests reading topics; the platform never looks at it.
            headers.append(("sim_noise", noise.encode()))
        return tuple(headers)

    def _release(self, pending: list[tuple[int, int, Outgoing]]) -> None:
        due = [item for item in pending if item[0] <= self._step]
        if due:
            pending[:] = [item for item in pending if item[0] > self._step]
            self._ready.extend(out for _, _, out in sorted(due, key=lambda item: (item[0], item[1])))

    def _schedule(self, pending: list[tuple[int, int, Outgoing]], delay: tuple[int, int], out: Outgoing) -> None:
        self._order += 1
        pending.append((self._step + self.rng.randint(*delay), self._order, out))

    def _take(self, emission: Emission) -> None:
        """One valid event from the source: decide what happens to it and queue the results."""
        self._step += 1
        trace_id = self.ids.trace_id()
        key = emission.key.encode()
        value = encode(emission.payload)
        late = self.rng.random() < self.p_late
        duplicate = self.rng.random() < self.p_duplicate
        poison = self.rng.random() < self.p_poison
        if late:
            out = Outgoing(emission.kind, key, value, self._headers(trace_id, LATE), LATE, emission.payload)
            self._schedule(self._late, self.shares.late_delay, out)
        else:
            self._ready.append(Outgoing(emission.kind, key, value, self._headers(trace_id, None), VALID,
                                        emission.payload))
        if duplicate:
            again = Outgoing(emission.kind, key, value, self._headers(trace_id, DUPLICATE), DUPLICATE,
                             emission.payload)
            if late:
                # The copy of a late event comes after the late event itself.
                self._order += 1
                release = self._late[-1][0] + self.rng.randint(*self.shares.duplicate_delay)
                self._dups.append((release, self._order, again))
            else:
                self._schedule(self._dups, self.shares.duplicate_delay, again)
        if poison:
            kind = weighted(self.rng, self.shares.poison_kinds)
            value_p, detail = self.poison.make(kind, emission)
            # Undecodable poison often comes without a usable key; the rest keeps the entity's key.
            key_p = None if kind == NOT_JSON and self.rng.random() < 0.5 else key
            self._ready.append(Outgoing(emission.kind, key_p, value_p, self._headers(self.ids.trace_id(), POISON),
                                        POISON, None, kind, detail))
        self._release(self._late)
        self._release(self._dups)

    def pop(self) -> Outgoing | None:
        """The next message ready to produce, if any (call :meth:`pull` when there is none)."""
        return self._ready.popleft() if self._ready else None

    def pull(self, source: Iterator[Emission]) -> bool:
        """Take one valid event from ``source``; False when it is exhausted.

        One event at a time, so a driver counting ``produced + held`` never overshoots its budget.
        """
        emission = next(source, None)
        if emission is None:
            return False
        self._take(emission)
        return True

    def drain(self) -> list[Outgoing]:
        """The late events still owed (queued or held back), in release order. Duplicates are dropped."""
        owed = [o for o in self._ready if o.noise == LATE]
        owed += [out for _, _, out in sorted(self._late, key=lambda item: (item[0], item[1]))]
        self._ready.clear()
        self._late.clear()
        self._dups.clear()
        return owed
