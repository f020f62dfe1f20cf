"""The "IoT" side of the simulation: scan guns on warehouse floors and temperature loggers.

* :class:`ScanGuns` turn every warehouse movement into a ``warehouse-event`` as a handheld scanner would
  send it (actor = scanner id, zone and bin from the SKU's slot).
* :class:`TemperatureLogger` rides with a cold-chain parcel, samples every 15 minutes and reports
  excursions; :mod:`journeys` turns them into ``EXCEPTION`` shipment events (sub-status
  ``temperature_excursion``) and ``temperature_recovered`` events, so readings stay contract-valid: the
  shipment schema has no temperature field, so the reading travels in the exception's reason.
* :class:`WarehouseFloor` runs each merchant's stock in each of its warehouses: an opening cycle count,
  replenishment (received, then putaway), periodic cycle counts, and cold-room loggers whose excursions
  write spoiled stock off with an ``adjusted`` event.

Device ticks happen at half-second instants (``.500``) and journeys at whole seconds, so a device event
never ties with a scan in occurrence order: the stock the floor tracks (in the order the simulation
emits) is exactly the stock the platform's fold computes.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from local_runtime.simulator.world import (
    WAREHOUSE,
    Emission,
    Ids,
    Merchant,
    Sku,
    TempRange,
    Warehouse,
    local_iso,
)

PICK_ZONES = ("A", "B", "C", "D")


def slot(sku: Sku) -> tuple[str, str]:
    """The zone and bin where a SKU lives. Stable across runs (hash of the SKU, not ``hash()``)."""
    digest = hashlib.sha256(sku.sku.encode()).digest()
    zone = "COLD" if sku.cold else PICK_ZONES[digest[0] % len(PICK_ZONES)]
    return zone, f"{zone}-{digest[1] % 30 + 1:02d}-{digest[2] % 5 + 1}"


def warehouse_payload(
    *,
    event_id: str,
    merchant_id: str,
    warehouse: Warehouse,
    event_type: str,
    at: datetime,
    items: Sequence[tuple[str, int]],
    zone: str | None,
    bin: str | None,
    actor: str | None,
    shipment_id: str | None = None,
    order_ref: str | None = None,
) -> dict[str, Any]:
    """A ``warehouse-event.v1`` payload (field order fixed so the bytes are reproducible)."""
    payload: dict[str, Any] = {
        "event_id": event_id,
        "schema_version": 1,
        "event_type": event_type,
        "merchant_id": merchant_id,
        "warehouse_id": warehouse.warehouse_id,
        "zone": zone,
        "bin": bin,
        "occurred_at": local_iso(at, warehouse.place.tz),
        "items": [{"sku": sku, "qty": qty} for sku, qty in items],
        "actor": actor,
        "location": warehouse.location(),
    }
    if shipment_id is not None:
        payload["shipment_id"] = shipment_id
        payload["order_ref"] = order_ref
    return payload


class ScanGuns:
    """The handheld scanners of one warehouse. Each scan is one warehouse event."""

    def __init__(self, warehouse: Warehouse, rng: random.Random, ids: Ids) -> None:
        self.warehouse = warehouse
        self.rng = rng
        self.ids = ids
        self.actors = tuple(f"SCN-{warehouse.place.code}-{n:02d}" for n in range(1, warehouse.scanners + 1))

    def scan(
        self,
        merchant_id: str,
        event_type: str,
        at: datetime,
        items: Sequence[tuple[str, int]],
        *,
        zone: str | None,
        bin: str | None = None,
        shipment_id: str | None = None,
        order_ref: str | None = None,
        actor: str | None = None,
    ) -> Emission:
        payload = warehouse_payload(
            event_id=self.ids.event_id(at),
            merchant_id=merchant_id,
            warehouse=self.warehouse,
            event_type=event_type,
            at=at,
            items=items,
            zone=zone,
            bin=bin,
            actor=actor or self.rng.choice(self.actors),
            shipment_id=shipment_id,
            order_ref=order_ref,
        )
        return Emission(at, WAREHOUSE, self.warehouse.warehouse_id, payload)


# --------------------------------------------------------------------------------------------------
# Temperature loggers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Excursion:
    """A stretch of readings outside the allowed range, as the logger's alarm reports it."""

    start: datetime  # when the alarm fired (second consecutive reading out of range)
    end: datetime | None  # first reading back in range; None if still out when the window closed
    peak_c: float  # the worst reading
    above: bool  # too warm (True) or too cold (False)

    def reason(self, limits: TempRange) -> str:
        side = f"above the {limits.high_c:g} °C limit" if self.above else f"below the {limits.low_c:g} °C limit"
        return f"temperature {self.peak_c:.1f} °C {side} (allowed {limits.label})"


class TemperatureLogger:
    """A data logger packed with a cold-chain parcel.

    Readings every 15 minutes follow a mean-reverting walk around the middle of the range; rarely a
    disturbance (reefer fault, door left open, parcel left on a sunny dock) pushes them out for a while.
    The alarm fires after two consecutive out-of-range readings, as real loggers debounce, and clears
    at the first reading back in range.
    """

    INTERVAL = timedelta(minutes=15)
    DISTURBANCE_PER_READING = 0.0009  # ~20 % of 3-day transits see one

    def __init__(self, logger_id: str, limits: TempRange, rng: random.Random) -> None:
        self.logger_id = logger_id
        self.limits = limits
        self.rng = rng

    def excursions(self, start: datetime, end: datetime) -> list[Excursion]:
        """Alarms raised by readings taken between ``start`` and ``end``.

        Between disturbances the walk's noise is a tenth of the half-range, so readings stay well inside
        it; rather than drawing thousands of uneventful readings, jump straight to the next disturbance
        (a geometric number of readings away) and simulate the readings around it in detail.
        """
        mid = (self.limits.low_c + self.limits.high_c) / 2
        half = (self.limits.high_c - self.limits.low_c) / 2
        found: list[Excursion] = []
        at = start
        while True:
            gap = 1 + int(math.log(1.0 - self.rng.random()) / math.log(1.0 - self.DISTURBANCE_PER_READING))
            at += gap * self.INTERVAL
            if at >= end:
                return found
            length = self.rng.randint(3, 16)  # readings the disturbance lasts
            warm = self.rng.random() < 0.8  # warming is far more common than freezing
            target = (self.limits.high_c + self.rng.uniform(1.0, 7.0) if warm
                      else self.limits.low_c - self.rng.uniform(1.0, 5.0))
            temp = mid + self.rng.gauss(0, 0.2 * half)
            run: list[tuple[datetime, float]] = []
            n = 0
            while True:
                goal = target if n < length else mid
                temp += 0.45 * (goal - temp) + self.rng.gauss(0, 0.12 * half)
                reading = round(temp, 1)
                if reading > self.limits.high_c or reading < self.limits.low_c:
                    run.append((at, reading))
                else:
                    if len(run) >= 2:
                        found.append(self._excursion(run, at))
                    run = []
                    if n >= length:
                        break  # back in range after the disturbance
                at += self.INTERVAL
                n += 1
                if at >= end:
                    if len(run) >= 2:
                        found.append(self._excursion(run, None))
                    return found

    def _excursion(self, run: list[tuple[datetime, float]], end: datetime | None) -> Excursion:
        above = run[0][1] > self.limits.high_c
        peak = max(t for _, t in run) if above else min(t for _, t in run)
        return Excursion(start=run[1][0], end=end, peak_c=peak, above=above)


# --------------------------------------------------------------------------------------------------
# Warehouse floor: stock, replenishment, cycle counts, cold rooms
# --------------------------------------------------------------------------------------------------

OPENING_STOCK = (300, 1200)
REORDER_POINT = 150
REORDER_QTY = (600, 1500)
ROUTINE_INBOUND = 0.35  # chance per replenishment tick of a scheduled delivery
ROUTINE_QTY = (40, 300)
HALF_SECOND = timedelta(milliseconds=500)

# A scheduled piece of device work: called at its time, returns emissions and optionally the next run.
Task = Callable[[datetime], tuple[list[Emission], list[tuple[datetime, "Task"]]]]


def _tick_time(at: datetime) -> datetime:
    """Device ticks land on .500 of a second (see the module docstring)."""
    return at.replace(microsecond=0) + HALF_SECOND


class WarehouseFloor:
    """Stock of every (merchant, warehouse) pair and the device activity that keeps it moving.

    ``observe`` must see every emitted warehouse event in occurrence order; the floor then knows the
    stock exactly as the platform will fold it, which is what makes cycle counts truthful.
    """

    def __init__(self, merchants: Sequence[Merchant], warehouses: dict[str, Warehouse], rng: random.Random,
                 ids: Ids) -> None:
        self.rng = rng
        self.ids = ids
        self.merchants = {m.merchant_id: m for m in merchants}
        self.guns = {wid: ScanGuns(w, rng, ids) for wid, w in warehouses.items()}
        self.warehouses = warehouses
        self.stock: dict[tuple[str, str], dict[str, int]] = {}

    def pairs(self) -> list[tuple[Merchant, Warehouse]]:
        return [(m, self.warehouses[w]) for m in self.merchants.values() for w in m.warehouses]

    def observe(self, emission: Emission) -> None:
        """Track stock the way ``logistics.domain.warehouse`` folds it."""
        if emission.kind != WAREHOUSE:
            return
        p = emission.payload
        stock = self.stock.setdefault((p["merchant_id"], p["warehouse_id"]), {})
        for line in p["items"]:
            sku, qty = line["sku"], line["qty"]
            if p["event_type"] in ("received", "return_received", "adjusted"):
                stock[sku] = stock.get(sku, 0) + qty
            elif p["event_type"] == "picked":
                stock[sku] = stock.get(sku, 0) - qty
            elif p["event_type"] == "cycle_counted":
                stock[sku] = qty

    def start(self, base: datetime) -> list[tuple[datetime, Task]]:
        """The first tick of every device process, staggered so pairs do not all fire at once."""
        scheduled: list[tuple[datetime, Task]] = []
        for n, (merchant, warehouse) in enumerate(self.pairs()):
            opening = _tick_time(base + timedelta(seconds=n))
            scheduled.append((opening, self._opening_count(merchant, warehouse)))
            scheduled.append((_tick_time(opening + self._hours(4, 10)), self._replenish(merchant, warehouse)))
            scheduled.append((_tick_time(opening + self._hours(20, 40)), self._cycle_count(merchant, warehouse)))
            if warehouse.cold_room and merchant.cold_skus:
                scheduled.append((_tick_time(opening + self._hours(1, 6)), self._cold_room(merchant, warehouse)))
        return scheduled

    def _hours(self, lo: float, hi: float) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(lo, hi) * 3600))

    def _opening_count(self, merchant: Merchant, warehouse: Warehouse) -> Task:
        def run(at: datetime) -> tuple[list[Emission], list[tuple[datetime, Task]]]:
            items = [(s.sku, self.rng.randint(*OPENING_STOCK)) for s in merchant.skus]
            gun = self.guns[warehouse.warehouse_id]
            return [gun.scan(merchant.merchant_id, "cycle_counted", at, items, zone=None)], []
        return run

    def _replenish(self, merchant: Merchant, warehouse: Warehouse) -> Task:
        def run(at: datetime) -> tuple[list[Emission], list[tuple[datetime, Task]]]:
            stock = self.stock.get((merchant.merchant_id, warehouse.warehouse_id), {})
            low = [s for s in merchant.skus if stock.get(s.sku, 0) < REORDER_POINT]
            items = [(s.sku, self.rng.randint(*REORDER_QTY)) for s in low]
            if not low and self.rng.random() < ROUTINE_INBOUND:
                # A routine purchase order arrives even when nothing is short.
                low = self.rng.sample(list(merchant.skus), k=min(2, len(merchant.skus)))
                items = [(s.sku, self.rng.randint(*ROUTINE_QTY)) for s in low]
            emitted: list[Emission] = []
            if low:
                gun = self.guns[warehouse.warehouse_id]
                dock = f"DOCK-{self.rng.randint(1, 8):02d}"
                emitted.append(gun.scan(merchant.merchant_id, "received", at, items, zone="INBOUND", bin=dock))
                # Putaway moves the received pallets to their slots a little later (no stock change).
                put_at = _tick_time(at + self._hours(0.5, 3))
                for sku, (line_sku, qty) in zip(low, items, strict=True):
                    zone, bin_ = slot(sku)
                    emitted.append(gun.scan(merchant.merchant_id, "putaway", put_at, [(line_sku, qty)],
                                            zone=zone, bin=bin_))
                    put_at += timedelta(seconds=self.rng.randint(30, 300))
            return emitted, [(_tick_time(at + self._hours(6, 14)), run)]
        return run

    def _cycle_count(self, merchant: Merchant, warehouse: Warehouse) -> Task:
        def run(at: datetime) -> tuple[list[Emission], list[tuple[datetime, Task]]]:
            stock = self.stock.get((merchant.merchant_id, warehouse.warehouse_id), {})
            counted = self.rng.sample(list(merchant.skus), k=min(len(merchant.skus), self.rng.randint(1, 3)))
            items = []
            for sku in counted:
                on_hand = stock.get(sku.sku, 0)
                # Counts occasionally find shrinkage; the absolute count then resets the book stock.
                if on_hand > 5 and self.rng.random() < 0.1:
                    on_hand -= self.rng.randint(1, 3)
                items.append((sku.sku, on_hand))
            # One event at the tick instant: a count is absolute, so it must reflect the stock at that
            # very moment (a later timestamp could miss picks emitted in between).
            zone, bin_ = slot(counted[0]) if len(counted) == 1 else (None, None)
            scan = self.guns[warehouse.warehouse_id].scan(merchant.merchant_id, "cycle_counted", at, items,
                                                          zone=zone, bin=bin_)
            return [scan], [(_tick_time(at + self._hours(24, 48)), run)]
        return run

    def _cold_room(self, merchant: Merchant, warehouse: Warehouse) -> Task:
        logger_id = f"TL-ROOM-{warehouse.place.code}"

        def run(at: datetime) -> tuple[list[Emission], list[tuple[datetime, Task]]]:
            emitted = []
            if self.rng.random() < 0.03:
                # A cold-room excursion: the logger's alarm makes the shift lead write off what spoiled.
                sku = self.rng.choice(merchant.cold_skus)
                stock = self.stock.get((merchant.merchant_id, warehouse.warehouse_id), {})
                qty = min(self.rng.randint(1, 6), max(stock.get(sku.sku, 0), 0))
                if qty:
                    zone, bin_ = slot(sku)
                    emitted.append(self.guns[warehouse.warehouse_id].scan(
                        merchant.merchant_id, "adjusted", at, [(sku.sku, -qty)], zone=zone, bin=bin_,
                        actor=logger_id))
            return emitted, [(_tick_time(at + self._hours(4, 8)), run)]
        return run

