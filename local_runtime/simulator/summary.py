"""What a run produced, with the ground truth a test needs to check the platform's end state."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local_runtime.simulator.noise import NoiseShares
from logistics.contracts import to_domain
from logistics.domain import shipment as shipment_domain
from logistics.domain import warehouse as warehouse_domain
from logistics.domain.events import ShipmentEvent, WarehouseEvent, shipment_view
from logistics.domain.shipment import ShipmentState
from logistics.domain.warehouse import WarehouseState


@dataclass(frozen=True)
class PoisonRecord:
    """A poison message as produced: what kind, where, and a fingerprint of its bytes."""

    kind: str
    topic: str
    key: str | None
    size: int
    sha256: str
    detail: str


@dataclass
class Summary:
    """What a run produced, with the ground truth a test needs to check the platform's end state.

    ``shipments`` maps ``(merchant_id, shipment_id)`` to the distinct valid events about the shipment
    (its shipment events and the warehouse events naming it), in the order they were produced;
    ``warehouses`` maps ``(merchant_id, warehouse_id)`` to its valid warehouse events. Folding them
    (:meth:`expected_shipment_states`) gives the state the platform must end with, whatever the
    duplicates and late arrivals did on the way.
    """

    seed: int
    clock_base: datetime
    topics: tuple[str, str]
    shares: NoiseShares
    sim_end: datetime | None = None
    produced: int = 0
    valid: int = 0  # distinct valid events (each sent once, or first copy of a duplicate)
    duplicates: int = 0
    late: int = 0
    poison: int = 0
    per_topic: Counter[str] = field(default_factory=Counter)
    poison_by_kind: Counter[str] = field(default_factory=Counter)
    journeys: int = 0
    elapsed_s: float = 0.0
    interrupted: bool = False  # ended by Ctrl-C, SIGTERM or ``stop()`` rather than count/duration
    delivered: int | None = None  # Kafka delivery reports (None for sinks without them)
    delivery_failed: int | None = None
    undelivered: int = 0  # still queued when the final flush timed out
    shipments: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    warehouses: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    poison_events: list[PoisonRecord] = field(default_factory=list)
    scenarios: dict[str, str] = field(default_factory=dict)  # shipment id -> journey scenario

    @property
    def rate(self) -> float:
        """Achieved messages per second of wall time."""
        return self.produced / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def shipment_events(self, key: tuple[str, str]) -> list[ShipmentEvent]:
        """Domain events of one shipment, as the ingest folds them (warehouse events via their view)."""
        events: list[ShipmentEvent] = []
        for payload in self.shipments.get(key, ()):
            event = to_domain(payload)
            if isinstance(event, WarehouseEvent):
                view = shipment_view(event)
                if view is not None:
                    events.append(view)
            else:
                events.append(event)
        return events

    def expected_shipment_states(self) -> dict[tuple[str, str], ShipmentState]:
        """The state every shipment must end in (folded from the ground truth)."""
        states = {}
        for key in self.shipments:
            state = shipment_domain.fold(self.shipment_events(key)).state
            if state is not None:
                states[key] = state
        return states

    def expected_warehouse_states(self) -> dict[tuple[str, str], WarehouseState]:
        states = {}
        for key, payloads in self.warehouses.items():
            events = [e for e in map(to_domain, payloads) if isinstance(e, WarehouseEvent)]
            state = warehouse_domain.fold(events).state
            if state is not None:
                states[key] = state
        return states

    def to_dict(self, *, truth: bool = False) -> dict[str, Any]:
        """JSON-ready summary; with ``truth`` also the ground truth (can be large)."""
        out: dict[str, Any] = {
            "seed": self.seed,
            "clock_base": self.clock_base.isoformat(),
            "sim_end": self.sim_end.isoformat() if self.sim_end else None,
            "topics": list(self.topics),
            "produced": self.produced,
            "valid": self.valid,
            "duplicates": self.duplicates,
            "late": self.late,
            "poison": self.poison,
            "per_topic": dict(self.per_topic),
            "poison_by_kind": dict(self.poison_by_kind),
            "journeys": self.journeys,
            "shipments": len(self.shipments) if self.shipments else None,  # None: no ground truth kept
            "elapsed_s": round(self.elapsed_s, 3),
            "rate": round(self.rate, 1),
            "interrupted": self.interrupted,
            "delivered": self.delivered,
            "delivery_failed": self.delivery_failed,
            "undelivered": self.undelivered,
        }
        if truth:
            out["truth"] = {
                "shipments": [
                    {"merchant_id": m, "shipment_id": s, "scenario": self.scenarios.get(s), "events": events}
                    for (m, s), events in self.shipments.items()
                ],
                "warehouses": [
                    {"merchant_id": m, "warehouse_id": w, "events": events}
                    for (m, w), events in self.warehouses.items()
                ],
                "poison": [vars(p) for p in self.poison_events],
            }
        return out
