"""The status model of docs/STATUS_MODEL.md, checked pair by pair against a table written by hand from it."""

from __future__ import annotations

import itertools

import pytest

from logistics.domain.status import ANYTIME, PHASE, RANK, TERMINAL, Status, is_allowed, is_terminal

S = Status
CR, PR, RS, PU, IT = S.CREATED, S.PROCESSING, S.READY_TO_SHIP, S.PICKED_UP, S.IN_TRANSIT
OFD, ATT, AFP, RET = S.OUT_FOR_DELIVERY, S.DELIVERY_ATTEMPTED, S.AVAILABLE_FOR_PICKUP, S.RETURNING
DEL, RTD, CAN, LOST, EXC, EXP = S.DELIVERED, S.RETURNED, S.CANCELLED, S.LOST, S.EXCEPTION, S.EXPIRED
ALL = frozenset(S)

# For every status, the statuses an ordinary (non-correction) event may move it to, written out from
# docs/STATUS_MODEL.md:
# forward always (skips included; the code orders the rank-5 trio OFD < ATT < AFP); loops back OFD -> IT and
# ATT -> OFD/IT/AFP/RET; any non-terminal -> EXC, CAN (and EXP, soft-terminal); EXC and EXP -> anything;
# terminal -> only itself (changing it needs a correction). Staying on the same status is always allowed.
EXPECTED_TARGETS: dict[Status, frozenset[Status]] = {
    CR: ALL,
    PR: ALL - {CR},
    RS: ALL - {CR, PR},
    PU: ALL - {CR, PR, RS},
    IT: ALL - {CR, PR, RS, PU},
    OFD: ALL - {CR, PR, RS, PU},  # IN_TRANSIT by the loop back
    ATT: ALL - {CR, PR, RS, PU},  # OFD and IN_TRANSIT by loops; pickup and returning forward
    AFP: frozenset({AFP, RET, DEL, RTD, CAN, LOST, EXC, EXP}),  # not back to OFD / ATT / IN_TRANSIT
    RET: frozenset({RET, DEL, RTD, CAN, LOST, EXC, EXP}),
    DEL: frozenset({DEL}),
    RTD: frozenset({RTD}),
    CAN: frozenset({CAN}),
    LOST: frozenset({LOST}),
    EXC: ALL,
    EXP: ALL,  # soft-terminal: any new event reopens it
}

PAIRS = list(itertools.product(S, S))


def test_the_table_covers_every_status():
    assert set(EXPECTED_TARGETS) == set(S)
    assert len(PAIRS) == 15 * 15


@pytest.mark.parametrize(("current", "new"), PAIRS, ids=[f"{a.name}->{b.name}" for a, b in PAIRS])
def test_is_allowed_matches_the_design_table(current: Status, new: Status):
    assert is_allowed(current, new) is (new in EXPECTED_TARGETS[current])


@pytest.mark.parametrize("new", list(S))
def test_first_event_may_open_any_status(new: Status):
    assert is_allowed(None, new) is True


def test_ranks_and_phases_follow_the_design():
    expected_rank = {CR: 0, PR: 1, RS: 2, PU: 3, IT: 4, OFD: 5, ATT: 5, AFP: 5, RET: 6}
    assert {s: RANK[s][0] for s in expected_rank} == expected_rank
    assert all(RANK[t][0] == 7 for t in TERMINAL)
    assert RANK[OFD] < RANK[ATT] < RANK[AFP]
    assert EXC not in RANK and EXP not in RANK
    assert {s for s, p in PHASE.items() if p == "warehouse"} == {CR, PR, RS}
    assert {s for s, p in PHASE.items() if p == "carrier"} == {PU, IT, OFD, ATT, AFP, RET}
    assert {s for s, p in PHASE.items() if p == "terminal"} == {DEL, RTD, CAN, LOST}
    assert PHASE[EXC] == "exception" and PHASE[EXP] == "expired"
    assert set(PHASE) == set(S)


def test_terminal_statuses():
    assert {DEL, RTD, CAN, LOST} == TERMINAL
    assert [s for s in S if is_terminal(s)] == [DEL, RTD, CAN, LOST]
    assert not is_terminal(EXP)  # soft-terminal only
    assert {EXC, EXP} == ANYTIME


def test_counts_of_allowed_moves():
    """A cross-check independent of the table's shape: how many of the 210 real moves are allowed."""
    moves = [(a, b) for a, b in PAIRS if a != b]
    allowed = [(a, b) for a, b in moves if is_allowed(a, b)]
    # 14 + 13 + 12 + 11 + 10 (CR..IT) + 10 (OFD) + 10 (ATT) + 7 (AFP) + 6 (RET) + 0 * 4 + 14 + 14
    assert len(allowed) == 14 + 13 + 12 + 11 + 10 + 10 + 10 + 7 + 6 + 14 + 14


# Lemmas the arrival-order guarantee in docs/STATUS_MODEL.md rests on, checked over every case.
PLAIN = [s for s in S if s not in ANYTIME]  # everything but EXCEPTION and EXPIRED


def test_is_allowed_is_transitive_without_exception_or_expired():
    for a, b, c in itertools.product(PLAIN, repeat=3):
        if is_allowed(a, b) and is_allowed(b, c):
            assert is_allowed(a, c), (a, b, c)


def test_is_allowed_is_total_between_non_terminal_plain_statuses():
    live = [s for s in PLAIN if s not in TERMINAL]
    for a, b in itertools.product(live, repeat=2):
        assert is_allowed(a, b) or is_allowed(b, a), (a, b)


def test_transitivity_fails_through_exception_which_is_why_late_exceptions_matter():
    assert is_allowed(IT, EXC) and is_allowed(EXC, PU)
    assert not is_allowed(IT, PU)
