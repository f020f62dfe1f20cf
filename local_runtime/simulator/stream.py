"""The valid events of the simulated world in occurrence order: the simulated clock and the event stream.

Simulated time is a discrete-event clock: journeys and warehouse devices schedule their emissions on
one heap, and iterating the stream yields them in occurrence order. Every random choice comes from
generators seeded with strings built from the seed and the clock's base (string seeds hash the same
in every process, unlike ``hash()``), one per concern (journeys, devices).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from local_runtime.simulator.devices import ScanGuns, Task, WarehouseFloor
from local_runtime.simulator.emission import EPOCH, Emission, Ids, epoch_ms
from local_runtime.simulator.journeys import Journey, JourneyPlanner
from local_runtime.simulator.world import World


class SimClock:
    """Simulated time. ``base`` is where it starts; ``now`` follows the events as they are produced.

    Inject one (or a datetime) into :func:`simulate` for reproducible timestamps; the default base is
    the current time, floored to the minute, minus ``lookback`` so the events lie in the past
    (:func:`simulate` sizes the lookback to the run, see :func:`default_lookback`).
    """

    def __init__(self, base: datetime | None = None, *, lookback: timedelta = timedelta(days=30)) -> None:
        if base is None:
            base = (datetime.now(UTC) - lookback).replace(second=0, microsecond=0)
        if base.tzinfo is None:
            raise ValueError("the clock base must be timezone-aware")
        self.base = base.astimezone(UTC).replace(microsecond=0)
        self.now = self.base

    def seed_material(self) -> str:
        return self.base.strftime("%Y%m%dT%H%M%SZ")


class EventStream:
    """The valid events of the simulated world, in occurrence order (a discrete-event simulation).

    ``concurrency`` journeys run at any time: when one ends, the next order is placed. Devices (stock
    replenishment, cycle counts, cold rooms) run as recurring tasks. Iterating yields emissions.
    """

    def __init__(self, seed: int, clock: SimClock, concurrency: int, world: World | None = None) -> None:
        self.clock = clock
        self.world = world or World()
        material = f"{seed}:{clock.seed_material()}"
        journey_rng = random.Random(f"{material}:journeys")
        device_rng = random.Random(f"{material}:devices")
        self.guns = {wid: ScanGuns(w, journey_rng, Ids(journey_rng)) for wid, w in self.world.warehouses.items()}
        self.planner = JourneyPlanner(self.world, journey_rng, Ids(journey_rng), self.guns)
        self.floor = WarehouseFloor(self.world.merchants, self.world.warehouses, device_rng, Ids(device_rng))
        self.rng = journey_rng
        self._heap: list[tuple[int, int, Emission | Task]] = []
        self._seq = itertools.count()
        self.journeys_started = 0
        self.scenarios: dict[str, str] = {}  # shipment id -> scenario
        for at, task in self.floor.start(clock.base):
            self._push(at, task)
        # Stagger the first orders over half a day so journeys are not in lock step.
        for _ in range(max(1, concurrency)):
            start = clock.base + timedelta(seconds=self.rng.randint(60, 12 * 3600))
            self._push(start, self._start_journey)

    def _push(self, at: datetime, item: Emission | Task) -> None:
        heapq.heappush(self._heap, (epoch_ms(at), next(self._seq), item))

    def _start_journey(self, at: datetime) -> tuple[list[Emission], list[tuple[datetime, Task]]]:
        journey: Journey = self.planner.plan(at)
        self.journeys_started += 1
        self.scenarios.update(journey.scenarios)
        # Keep concurrency constant: the next order comes in once this journey is over.
        nxt = journey.ends_at + timedelta(seconds=self.rng.randint(60, 3 * 3600))
        return journey.emissions, [(nxt, self._start_journey)]

    def __iter__(self) -> Iterator[Emission]:
        while self._heap:
            ms, _, item = heapq.heappop(self._heap)
            if isinstance(item, Emission):
                self.clock.now = item.at
                self.floor.observe(item)  # the floor's stock follows events in occurrence order
                yield item
                continue
            emissions, follow_ups = item(EPOCH + timedelta(milliseconds=ms))
            for emission in emissions:
                self._push(emission.at, emission)
            for at, task in follow_ups:
                self._push(at, task)
