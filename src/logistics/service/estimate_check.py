"""The scheduled estimate check: shipments that stall get their delivery-estimate notices too.

Notices are otherwise checked at status changes (``service.estimate_notices``), but a prediction also moves
as time passes: the longer a shipment waits in a status, the later its lane says it will arrive, so a shipment
with no events can start trending late. Each run (``EstimateCheckFunction``, every 15 minutes by default)
walks, per merchant and open status, the shipments whose status began between ``lookback_s`` and
``min_stall_s`` ago (``by_status``, oldest first) and hands each to :meth:`EstimateNotices.check`, which tells a
revision once, exactly as for a status change.

The work per run is bounded: at most ``max_shipments`` items, shared evenly between the (merchant, status)
partitions, and no new partition is started with less than ``reserve_s`` of the invocation left. Each
partition resumes where the previous run stopped (a cursor per merchant and status, one small item per
merchant, ``CheckCursors``) and starts again from the oldest once it reached the newest, so with N stalled
shipments in a partition each is checked at least every ``ceil(N / share)`` runs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from logistics.domain.events import to_utc
from logistics.domain.lanes import PHASES
from logistics.service.notify import Outcome

log = logging.getLogger(__name__)

OPEN_STATUSES = tuple(p.value for p in PHASES)


@dataclass(frozen=True)
class StalledPage:
    """Shipment items of one partition in ``status_key`` order, and where the page stopped."""

    items: list[dict[str, Any]]  # current items whose status still began where the index said
    last_key: str | None  # status_key of the last index entry read
    exhausted: bool  # no more entries in the range after ``last_key``


class OpenShipments(Protocol):
    """Open shipments by when their status began: a port (``adapters.dynamodb_open_shipments``)."""

    def merchant_ids(self) -> list[str]:
        """Every merchant."""
        ...

    def stalled(self, merchant_id: str, status: str, since: str, until: str, after: str | None,
                limit: int) -> StalledPage:
        """Up to ``limit`` shipments in ``status`` whose status began in [since, until] (UTC), after the
        ``status_key`` ``after`` when given, oldest first."""
        ...


class CheckCursors(Protocol):
    """Where each (merchant, status) partition's walk stopped: a port."""

    def get(self, merchant_id: str) -> dict[str, str]:
        """status -> the last ``status_key`` checked."""
        ...

    def put(self, merchant_id: str, cursors: dict[str, str]) -> None:
        ...


class Checker(Protocol):
    def check(self, item: dict[str, Any]) -> list[Outcome]:
        ...


@dataclass
class CheckResult:
    """What a run did."""

    merchants: int = 0
    checked: int = 0  # shipments whose estimate was checked
    told: int = 0  # of them, those with a revision told (or retried) on some channel
    left: int = 0  # partitions not started for lack of time
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"merchants": self.merchants, "checked": self.checked, "told": self.told, "left": self.left,
                "errors": self.errors[:20]}


def _now() -> datetime:
    return datetime.now(UTC)


class EstimateCheck:
    """One bounded pass over stalled open shipments (see the module's docstring)."""

    def __init__(self, shipments: OpenShipments, cursors: CheckCursors, notices: Checker, *,
                 max_shipments: int = 2000, min_stall_s: float = 3600.0, lookback_s: float = 30 * 86400.0,
                 reserve_s: float = 10.0, clock: Callable[[], datetime] = _now,
                 statuses: Sequence[str] = OPEN_STATUSES) -> None:
        self.shipments = shipments
        self.cursors = cursors
        self.notices = notices
        self.max_shipments = max_shipments
        self.min_stall_s = min_stall_s
        self.lookback_s = lookback_s
        self.reserve_s = reserve_s
        self.clock = clock
        self.statuses = tuple(statuses)

    def run(self, time_left_s: Callable[[], float] = lambda: math.inf) -> CheckResult:
        """Check up to ``max_shipments`` stalled shipments; returns the counts."""
        now = self.clock().astimezone(UTC)
        # Shipments that changed status within min_stall_s were checked by the notifier at that change.
        since = to_utc((now - timedelta(seconds=self.lookback_s)).isoformat())
        until = to_utc((now - timedelta(seconds=self.min_stall_s)).isoformat())
        result = CheckResult()
        merchants = self.shipments.merchant_ids()
        result.merchants = len(merchants)
        share = max(1, math.ceil(self.max_shipments / max(1, len(merchants) * len(self.statuses))))
        for merchant_id in merchants:
            cursors = self.cursors.get(merchant_id)
            walked = dict(cursors)
            for status in self.statuses:
                if time_left_s() < self.reserve_s:
                    result.left += 1
                    continue
                after = walked.get(status)
                if after is not None and not since < after < until:
                    after = None  # out of this run's range (it moved on): start from the oldest
                try:
                    page = self.shipments.stalled(merchant_id, status, since, until, after, share)
                except Exception as exc:
                    result.errors.append(f"{merchant_id}/{status}: {type(exc).__name__}: {exc}")
                    continue
                for item in page.items:
                    self._check(item, result)
                if page.exhausted or page.last_key is None:
                    walked.pop(status, None)
                else:
                    walked[status] = page.last_key
            if walked != cursors:
                try:
                    self.cursors.put(merchant_id, walked)
                except Exception as exc:  # the next run repeats this one's partitions: harmless
                    result.errors.append(f"{merchant_id} cursors: {type(exc).__name__}: {exc}")
        return result

    def _check(self, item: dict[str, Any], result: CheckResult) -> None:
        # A failure is logged and the walk goes on: the shipment comes round again in a later pass, and what
        # was told is guarded per revision and channel.
        try:
            outcomes = self.notices.check(item)
        except Exception as exc:
            result.errors.append(f"{item.get('merchant_id')}/{item.get('shipment_id')}: {type(exc).__name__}: {exc}")
            return
        result.checked += 1
        result.told += bool(outcomes)
