"""The shipment status model: ranks decide forward versus backward (see docs/STATUS_MODEL.md)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    CREATED = "CREATED"
    PROCESSING = "PROCESSING"
    READY_TO_SHIP = "READY_TO_SHIP"
    PICKED_UP = "PICKED_UP"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERY_ATTEMPTED = "DELIVERY_ATTEMPTED"
    AVAILABLE_FOR_PICKUP = "AVAILABLE_FOR_PICKUP"
    RETURNING = "RETURNING"
    DELIVERED = "DELIVERED"
    RETURNED = "RETURNED"
    CANCELLED = "CANCELLED"
    LOST = "LOST"
    EXCEPTION = "EXCEPTION"
    EXPIRED = "EXPIRED"


# (phase rank, order within the rank). The three last-mile statuses share rank 5; the second number
# makes out-for-delivery -> attempted -> available-for-pickup a forward path.
RANK: dict[Status, tuple[int, int]] = {
    Status.CREATED: (0, 0),
    Status.PROCESSING: (1, 0),
    Status.READY_TO_SHIP: (2, 0),
    Status.PICKED_UP: (3, 0),
    Status.IN_TRANSIT: (4, 0),
    Status.OUT_FOR_DELIVERY: (5, 0),
    Status.DELIVERY_ATTEMPTED: (5, 1),
    Status.AVAILABLE_FOR_PICKUP: (5, 2),
    Status.RETURNING: (6, 0),
    Status.DELIVERED: (7, 0),
    Status.RETURNED: (7, 0),
    Status.CANCELLED: (7, 0),
    Status.LOST: (7, 0),
}

TERMINAL = frozenset({Status.DELIVERED, Status.RETURNED, Status.CANCELLED, Status.LOST})
# Statuses that may be entered from any non-terminal status, and left to anything.
ANYTIME = frozenset({Status.EXCEPTION, Status.EXPIRED})

# Allowed moves back, beyond "forward is always allowed".
LOOPS: dict[Status, frozenset[Status]] = {
    Status.OUT_FOR_DELIVERY: frozenset({Status.IN_TRANSIT}),
    Status.DELIVERY_ATTEMPTED: frozenset(
        {Status.OUT_FOR_DELIVERY, Status.IN_TRANSIT, Status.AVAILABLE_FOR_PICKUP, Status.RETURNING}
    ),
}

PHASE: dict[Status, str] = {
    **{s: "warehouse" for s in (Status.CREATED, Status.PROCESSING, Status.READY_TO_SHIP)},
    **{
        s: "carrier"
        for s in (
            Status.PICKED_UP,
            Status.IN_TRANSIT,
            Status.OUT_FOR_DELIVERY,
            Status.DELIVERY_ATTEMPTED,
            Status.AVAILABLE_FOR_PICKUP,
            Status.RETURNING,
        )
    },
    **{s: "terminal" for s in TERMINAL},
    Status.EXCEPTION: "exception",
    Status.EXPIRED: "expired",
}


def is_terminal(status: Status) -> bool:
    """True for statuses that only a correction event may change."""
    return status in TERMINAL


def is_allowed(current: Status | None, new: Status) -> bool:
    """Whether an ordinary (non-correction) event may move ``current`` to ``new``.

    Same status is allowed (it refreshes sub-status and location). A terminal status changes only
    through a correction. Exception and expired are left for anything; they are entered from any
    non-terminal status, as is cancelled.
    """
    if current is None or current == new:
        return True
    if current in TERMINAL:
        return False
    if current in ANYTIME or new in ANYTIME or new == Status.CANCELLED:
        return True
    if RANK[new] > RANK[current]:
        return True
    return new in LOOPS.get(current, frozenset())
