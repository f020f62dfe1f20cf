"""How new events meet a stored state: skip duplicates, fold forward, or re-fold from history.

State is a pure function of the *set* of events of an entity, folded in occurrence order. Folding
forward from the stored state gives the same answer only when every new event sorts after all
events already folded in; otherwise the whole history has to be folded again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Protocol, TypeVar

# How many recent event ids a state remembers to drop redeliveries without reading the timeline. Kept
# small: every id is ~30 bytes of every state write (one write unit per KB). A redelivery of an older
# event is still found, by a re-fold from the timeline (reads, not writes; see plan()).
RECENT_IDS = 4


class Disposition(StrEnum):
    """What an event did to its entity's state (stored on its timeline entry)."""

    APPLIED = "applied"
    LATE = "late"  # would have moved the state backwards: kept, changed nothing
    IGNORED = "ignored"  # arrived for a terminal state without being a correction
    VOIDED = "voided"  # named by a correction's correction_of
    CORRECTION = "correction"


class Sortable(Protocol):
    @property
    def event_id(self) -> str: ...
    @property
    def sort_key(self) -> str: ...


class Folded(Protocol):
    @property
    def high_water(self) -> str: ...
    @property
    def recent_event_ids(self) -> tuple[str, ...]: ...


E = TypeVar("E", bound=Sortable)


class Plan(StrEnum):
    NOTHING = "nothing"  # every event is already folded in
    FORWARD = "forward"  # fold the new events onto the stored state
    REFOLD = "refold"  # fold the whole stored history plus the new events


def unique_in_order(events: Iterable[E]) -> list[E]:
    """Distinct events by id, in occurrence order (the fold order)."""
    by_id: dict[str, E] = {}
    for event in events:
        kept = by_id.get(event.event_id)
        if kept is None or event.sort_key < kept.sort_key:
            by_id[event.event_id] = event
    return sorted(by_id.values(), key=lambda e: e.sort_key)


def plan(state: Folded | None, events: Sequence[E], *, force_refold: bool = False) -> tuple[Plan, list[E]]:
    """Choose how to fold ``events`` into ``state``; returns the plan and the events still new."""
    new = unique_in_order(events)
    if state is not None:
        # high_water is the sort key (occurred_at#event_id) of the newest event folded in: equal means that event.
        recent = set(state.recent_event_ids)
        new = [e for e in new if e.event_id not in recent and e.sort_key != state.high_water]
    if not new:
        return Plan.NOTHING, []
    if force_refold:
        return Plan.REFOLD, new
    if state is None or new[0].sort_key > state.high_water:
        return Plan.FORWARD, new
    return Plan.REFOLD, new


def remember(recent: tuple[str, ...], event_id: str) -> tuple[str, ...]:
    """Append an event id to the bounded recent-id window (ids arrive in fold order)."""
    return (*recent, event_id)[-RECENT_IDS:]
