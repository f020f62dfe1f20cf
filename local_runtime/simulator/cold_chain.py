"""Cold chain: a temperature logger rides with a chilled or frozen parcel; excursions become events."""

from __future__ import annotations

from datetime import datetime, timedelta

from local_runtime.simulator.devices import TemperatureLogger
from local_runtime.simulator.merchants import Merchant, TempRange
from local_runtime.simulator.places import Place
from local_runtime.simulator.track import ShipmentTrack, exception_of
from logistics.domain.status import TERMINAL, Status

# Statuses a parcel can be in while a logger's reading may change it (temperature events).
_ACTIVE = frozenset({Status.PICKED_UP, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.DELIVERY_ATTEMPTED,
                     Status.AVAILABLE_FOR_PICKUP, Status.RETURNING})


def temperature(t: ShipmentTrack, limits: TempRange, merchant: Merchant) -> None:
    """Cold chain: a logger rides from pickup to the first terminal event; excursions become events.

    An excursion becomes an ``EXCEPTION`` (sub-status ``temperature_excursion``) while the parcel
    is moving, and the first reading back in range restores the status the parcel then had
    (``temperature_recovered``). Both are placed against the journey's own events only, so they
    can never move the status in a way the status model forbids.
    """
    journey = sorted(t.timeline, key=lambda row: row[0])

    def status_at(at: datetime) -> tuple[Status, Place, str | None] | None:
        current = None
        for when, status, place, facility in journey:
            if when > at:
                break
            current = (status, place, facility)
        return current

    pickup = next((at for at, s, _, _ in journey if s == Status.PICKED_UP), None)
    if pickup is None:
        return
    end = next((at for at, s, _, _ in journey if at > pickup and s in TERMINAL), journey[-1][0])
    logger = TemperatureLogger(f"TL-{t.rng.getrandbits(32):08X}", limits, t.rng)
    used = {e.at for e in t.emissions}
    action = ("quarantine on arrival and check the product's stability budget before use"
              if merchant.merchant_id == "m-maple-health" else "inspect on delivery; replace if spoiled")
    for excursion in logger.excursions(pickup, end):
        before = status_at(excursion.start)
        at = _free_second(excursion.start, used)
        # Skip when the parcel is not moving (or already in an exception), or when nudging the
        # time off an occupied second would cross another event of the journey.
        if before is None or before[0] not in _ACTIVE or status_at(at) != before or at >= end:
            continue
        used.add(at)
        _, place, facility = before
        t.ship(Status.EXCEPTION, "temperature_excursion", place, facility, by="merchant", at=at,
               exception=exception_of(f"{excursion.reason(limits)} [{logger.logger_id}]", "carrier", action))
        if excursion.end is None:
            continue
        after = status_at(excursion.end)
        back_at = _free_second(excursion.end, used)
        if after is None or after[0] not in _ACTIVE or status_at(back_at) != after or back_at >= end:
            continue
        used.add(back_at)
        t.ship(after[0], "temperature_recovered", after[1], after[2], by="merchant", at=back_at)
    # Inserted events went to the end of the lists: restore time order.
    t.timeline.sort(key=lambda row: row[0])
    t.emissions.sort(key=lambda e: e.at)


def _free_second(at: datetime, used: set[datetime]) -> datetime:
    at = at.replace(microsecond=0)
    while at in used:
        at += timedelta(seconds=1)
    return at
