"""Lane statistics as a stream aggregate over tumbling windows (``functions/lanes``).

Each invocation of a window adds the deliveries of its stream records to the window's ``state`` (per merchant
and aggregate: :func:`~logistics.domain.lanes.rollups`); the final invocation merges each aggregate into its
stored item once. "Once" is the stored item's list of applied tokens: a token names the shard, the window start
and a digest of the state, so the retried final invocation of a window (AWS retries it until it succeeds)
changes nothing the second time, while a window ended early (state above 1 MB) and its remainder, which carry
different states, both count.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from logistics.domain.lanes import LaneStats, delivery_stats, lane_of, rollups
from logistics.domain.shipment import ShipmentState
from logistics.domain.status import Status
from logistics.service.notify import StateImages

_SEP = "\t"  # merchant ids and aggregate names never contain a tab


class LaneStore(Protocol):
    """Where merged lane statistics live (one item per merchant and aggregate)."""

    def get(self, merchant_id: str, names: Iterable[str]) -> dict[str, LaneStats]: ...

    def merge(self, merchant_id: str, name: str, stats: LaneStats, token: str) -> bool:
        """Add ``stats`` to the stored aggregate unless ``token`` was applied before (then False)."""
        ...

    def list(self, merchant_id: str, prefix: str) -> list[tuple[str, LaneStats]]: ...


def first_delivery(images: StateImages, region: str | None = None) -> dict[str, Any] | None:
    """The new image of a write that made a shipment delivered (not a rewrite of a delivered one), written by
    this region's ingest (every Global Tables replica has its own stream; only the writer's region counts)."""
    new, old = images.new, images.old
    if not new or new.get("status") != Status.DELIVERED.value:
        return None
    if old and old.get("status") == Status.DELIVERED.value:
        return None
    if region and new.get("written_region") not in (None, region):
        return None
    return new


def window_token(shard_id: str, window_start: str, state: Mapping[str, Any]) -> str:
    """What makes one final invocation's merge happen once (see the module's docstring)."""
    digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]
    return f"{shard_id}@{window_start}#{digest}"


@dataclass
class WindowResult:
    state: dict[str, Any]
    deliveries: int  # in this invocation's records
    merged: int  # aggregates written (final invocation only)


class LaneAggregator:
    """Adds deliveries to a window's state; at the window's end, merges the state into the store."""

    def __init__(self, store: LaneStore, decode: Callable[[dict[str, Any]], ShipmentState],
                 region: str | None = None) -> None:
        self.store = store
        self.decode = decode  # a stream image (the stored item's layout) -> the domain state
        self.region = region

    def add(self, state: Mapping[str, Any], images: Iterable[StateImages]) -> tuple[dict[str, Any], int]:
        """The window state with the deliveries of ``images`` added, and how many there were."""
        lanes = {k: LaneStats.from_item(v) for k, v in (state.get("lanes") or {}).items()}
        count = 0
        for image in images:
            new = first_delivery(image, self.region)
            if new is None:
                continue
            shipment = self.decode(dict(new))
            stats = delivery_stats(shipment)
            if stats is None:
                continue
            count += 1
            for name in rollups(lane_of(shipment)):
                key = f"{shipment.merchant_id}{_SEP}{name}"
                lanes[key] = lanes[key].merge(stats) if key in lanes else stats
        return {"lanes": {k: v.to_item() for k, v in sorted(lanes.items())}}, count

    def flush(self, state: Mapping[str, Any], shard_id: str, window_start: str) -> int:
        """Merge every aggregate of a finished window into the store, once; returns how many were written."""
        token = window_token(shard_id, window_start, state)
        written = 0
        for key, item in sorted((state.get("lanes") or {}).items()):
            merchant_id, _, name = key.partition(_SEP)
            written += self.store.merge(merchant_id, name, LaneStats.from_item(item), token)
        return written

    def handle(self, state: Mapping[str, Any], images: Iterable[StateImages], *, final: bool, shard_id: str,
               window_start: str) -> WindowResult:
        """One invocation of a tumbling window: a final one merges and starts the next window empty."""
        new_state, count = self.add(state, images)
        if not final:
            return WindowResult(new_state, count, 0)
        return WindowResult({}, count, self.flush(new_state, shard_id, window_start))
