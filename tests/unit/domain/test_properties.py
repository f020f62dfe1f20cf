"""Property tests: any arrival order, any duplication and any batching give the state of the *set* of events.

The ingest algorithm is simulated as functions/ingest does it (service/ingest.py ``_fold``): per batch,
``folding.plan`` on the stored state (re-fold forced once a correction is involved); NOTHING keeps the state,
FORWARD folds the new events onto it, REFOLD folds every event stored so far from scratch.
See docs/STATUS_MODEL.md for the guarantees proved here, and for the arrival-order counterexamples.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, replace

from domain_builders import BERLIN, EXC_INFO, LYON, NEW_YORK, SHIPMENT, TOKYO, ev, wev
from hypothesis import event as record_case
from hypothesis import given, note, settings
from hypothesis import strategies as st

from logistics.domain import shipment, warehouse
from logistics.domain.events import ShipmentEvent, shipment_view
from logistics.domain.folding import RECENT_IDS, Disposition, Plan, plan, unique_in_order
from logistics.domain.status import ANYTIME, RANK, TERMINAL, Status, is_allowed

D = Disposition
S = Status
EXAMPLES = settings(max_examples=500, deadline=None)

OFFSETS = [0, 60, 120, -240, -300, 330, 345, 540, -600, 840, -720]  # minutes east of UTC
LOCATIONS = [None, BERLIN, LYON, NEW_YORK, TOKYO, {"country": "BR", "city": "Recife"}]
EXCEPTIONS = [
    EXC_INFO,
    {"reason": "customs hold", "responsible_party": "customs"},
    {"reason": "damaged", "responsible_party": "carrier", "action_required": "file a claim"},
]
HANDLING = ["picked", "packed", "staged", "loaded", "dispatched", "return_received"]
RANKED = sorted(RANK, key=lambda s: RANK[s])  # forward order, terminals last


# --- generators ------------------------------------------------------------------------------------


@st.composite
def shipment_histories(
    draw,
    max_events: int = 12,
    pool: tuple[Status, ...] = tuple(S),
    corrections: bool = True,
    plausible: bool | None = None,
) -> list[ShipmentEvent]:
    """One shipment's events: a plausible forward story or arbitrary statuses; exceptions with their info,
    occasional corrections (usually naming an earlier event, sometimes an unknown one), warehouse-derived
    events, timestamps in many UTC offsets, equal instants, and ids whose order differs from creation."""
    n = draw(st.integers(1, max_events))
    plausible = draw(st.booleans()) if plausible is None else plausible
    if plausible:
        story = sorted(draw(st.lists(st.sampled_from(RANKED), min_size=n, max_size=n)), key=lambda s: RANK[s])
    events: list[ShipmentEvent] = []
    minute = 0
    for i in range(n):
        event_id = f"{draw(st.sampled_from('abxyz'))}{i:02d}"
        if plausible:
            minute += draw(st.sampled_from([0, 1, 1, 2, 5]))
            when = minute - draw(st.sampled_from([0, 0, 0, 0, 0, 3]))  # now and then an older report
            status = draw(st.sampled_from([story[i]] * 6 + [S.EXCEPTION, S.EXPIRED]))
        else:
            when = draw(st.integers(0, 15))
            status = draw(st.sampled_from(pool))
        fields = {
            "offset": draw(st.sampled_from(OFFSETS)),
            "location": draw(st.sampled_from(LOCATIONS)),
            "sub_status": draw(st.sampled_from([None, "arrived_facility", "customs_released"])),
        }
        if status == S.EXCEPTION:
            fields["exception"] = draw(st.sampled_from(EXCEPTIONS))
        if draw(st.booleans()):
            fields["eta"] = {"date": f"2024-05-{draw(st.integers(2, 9)):02d}"}
        kind = draw(st.sampled_from(["update"] * 7 + ["correction"] * corrections + ["warehouse"]))
        if kind == "correction" and events:
            target = draw(st.sampled_from([e.event_id for e in events] + ["ghost-1"]))
            events.append(ev(event_id, status, when, event_type="correction", correction_of=target, **fields))
        elif kind == "warehouse":
            handled = wev(
                event_id,
                draw(st.sampled_from(HANDLING)),
                when,
                offset=fields["offset"],
                shipment_id=SHIPMENT,
                location=fields["location"],
            )
            events.append(shipment_view(handled))
        else:
            events.append(ev(event_id, status, when, **fields))
    return events


def deliveries(events: list, seed: int) -> list[list]:
    """The events in any order, some delivered more than once, cut into batches (one seeded shuffle: drawing every
    position through hypothesis would spend most of the run generating data)."""
    rng = random.Random(seed)
    delivered = rng.sample(events, len(events))
    for _ in range(rng.choice([0, 0, 1, 2, len(events)])):
        delivered.insert(rng.randrange(len(delivered) + 1), rng.choice(events))
    style = rng.choice(["one by one", "all at once", "random"])
    if style == "one by one":
        return [[e] for e in delivered]
    if style == "all at once":
        return [delivered]
    cuts = sorted(rng.sample(range(1, len(delivered)), rng.randrange(len(delivered)))) if len(delivered) > 1 else []
    bounds = [0, *cuts, len(delivered)]
    return [delivered[a:b] for a, b in itertools.pairwise(bounds)]


SEEDS = st.integers(0, 2**32 - 1)


# Carrier statuses with many exceptions and expiries: where the arrival-order cases G1 and G2 live.
ARRIVAL_POOL = (
    S.PICKED_UP,
    S.IN_TRANSIT,
    S.OUT_FOR_DELIVERY,
    S.DELIVERY_ATTEMPTED,
    S.AVAILABLE_FOR_PICKUP,
    S.RETURNING,
    S.DELIVERED,
    S.EXCEPTION,
    S.EXPIRED,
)


@st.composite
def shipment_scenarios(draw, **history):
    events = draw(shipment_histories(**history))
    return events, deliveries(events, draw(SEEDS)), deliveries(events, draw(SEEDS))


WAREHOUSE_TYPES = [
    "received",
    "putaway",
    "picked",
    "packed",
    "staged",
    "loaded",
    "dispatched",
    "adjusted",
    "cycle_counted",
    "return_received",
]


ITEM_LINES = [
    (),
    (("sku-1", 5),),
    (("sku-1", 2),),
    (("sku-2", 7),),
    (("sku-2", -3),),
    (("sku-3", 0),),
    (("sku-1", 3), ("sku-2", 1)),
    (("sku-2", 4), ("sku-3", 9), ("sku-2", 1)),
    (("sku-3", 12),),
]


@st.composite
def warehouse_histories(draw, max_events: int = 12):
    n = draw(st.integers(1, max_events))
    events = []
    for i in range(n):
        items = draw(st.sampled_from(ITEM_LINES))
        events.append(
            wev(
                f"{draw(st.sampled_from('abxyz'))}{i:02d}",
                draw(st.sampled_from(WAREHOUSE_TYPES)),
                draw(st.integers(0, 12)),
                items,
                offset=draw(st.sampled_from(OFFSETS)),
                shipment_id=draw(st.sampled_from([None, "s-1", "s-2", "s-3"])),
                zone=draw(st.sampled_from([None, "A", "B", "DOCK"])),
                location=draw(st.sampled_from([None, BERLIN, LYON])),
            )
        )
    return events


@st.composite
def warehouse_scenarios(draw):
    events = draw(warehouse_histories())
    return events, deliveries(events, draw(SEEDS)), deliveries(events, draw(SEEDS))


# --- the ingest algorithm --------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    how: Plan
    before: object
    after: object
    arrived: tuple  # events of the batch not stored before it (first arrivals)


def ingest(batches: list[list], module, *, corrections_refold: bool) -> tuple[object, dict, list[Batch]]:
    state = None
    stored: dict[str, object] = {}  # the timeline: every event ever delivered, once
    timeline: dict[str, Disposition] = {}
    trace: list[Batch] = []
    for batch in batches:
        force = corrections_refold and (
            (state is not None and state.corrections > 0) or any(e.is_correction for e in batch)
        )
        how, new = plan(state, batch, force_refold=force)
        arrived = tuple(unique_in_order(e for e in batch if e.event_id not in stored))
        for event in batch:
            stored.setdefault(event.event_id, event)
        before = state
        if how is Plan.FORWARD:
            folded = module.fold(new, state)
        elif how is Plan.REFOLD:
            folded = module.fold(list(stored.values()))
        else:
            assert not arrived  # NOTHING only when nothing is new
            trace.append(Batch(how, before, state, arrived))
            continue
        state = folded.state
        timeline.update(folded.dispositions)  # new entries, and re-fold rewrites of older ones
        trace.append(Batch(how, before, state, arrived))
    return state, timeline, trace


def without_counters(state: shipment.ShipmentState) -> shipment.ShipmentState:
    return replace(state, high_water="", event_count=0, late_count=0, corrections=0, recent_event_ids=())


def voided_ids(events) -> frozenset[str]:
    return frozenset(e.correction_of for e in events if e.is_correction and e.correction_of)


def reference_dispositions(events) -> tuple[dict[str, Disposition], Status, str]:
    """docs/STATUS_MODEL.md written out again, independently of shipment.step: dispositions, status, status event."""
    ordered = unique_in_order(events)
    voided = voided_ids(ordered)
    status: Status | None = None
    status_event = ""
    result = {}
    for e in ordered:
        if e.event_id in voided:
            result[e.event_id] = D.VOIDED
        elif e.is_correction:
            result[e.event_id] = D.CORRECTION
            status, status_event = e.status, e.event_id
        elif status is None or is_allowed(status, e.status):
            result[e.event_id] = D.APPLIED
            if status != e.status:
                status, status_event = e.status, e.event_id
        elif status in TERMINAL:
            result[e.event_id] = D.IGNORED
        else:
            result[e.event_id] = D.LATE
    return result, status, status_event


# --- shipment properties ---------------------------------------------------------------------------


@EXAMPLES
@given(shipment_scenarios())
def test_any_arrival_order_duplication_and_batching_gives_the_fold_of_the_set(scenario):
    events, first, second = scenario
    reference = shipment.fold(events)
    note(f"events: {[(e.event_id, e.status.value, e.occurred_utc, e.correction_of) for e in events]}")
    for batches in (first, second):
        note(f"batches: {[[e.event_id for e in b] for b in batches]}")
        state, timeline, _ = ingest(batches, shipment, corrections_refold=True)
        assert state == reference.state
        # every event is kept, once, with the disposition a fold of the whole set gives it
        assert timeline == reference.dispositions
        assert set(timeline) == {e.event_id for e in events}
    # the fold itself ignores input order and duplicates
    flat = [e for b in second for e in b]
    assert shipment.fold(flat) == reference
    assert shipment.fold(reversed(flat)) == reference


@EXAMPLES
@given(shipment_histories())
def test_fold_follows_the_status_rules_in_occurrence_order(events):
    ordered = unique_in_order(events)
    voided = voided_ids(ordered)
    result = shipment.fold(events)
    state = result.state

    # an independent reading of docs/STATUS_MODEL.md agrees with the fold
    expected, status, status_event = reference_dispositions(events)
    assert result.dispositions == expected
    assert (state.status, state.status_event_id) == (status, status_event)

    # counters
    assert state.event_count == len(ordered)
    assert state.late_count == sum(1 for d in expected.values() if d is D.LATE)
    assert state.corrections == sum(1 for e in ordered if e.is_correction)
    assert state.high_water == ordered[-1].sort_key
    assert state.recent_event_ids == tuple(e.event_id for e in ordered)[-RECENT_IDS:]
    assert state.updated_at == max(e.occurred_utc for e in ordered if expected[e.event_id] in (D.APPLIED, D.CORRECTION))

    # walk the real step function: every status change is allowed or made by a correction, and an event
    # that is late, ignored or voided changes nothing but the counters
    opener = next(i for i, e in enumerate(ordered) if e.event_id not in voided)
    current, _ = shipment.step(None, ordered[opener], voided)
    for event in ordered[opener + 1 :]:
        after, disposition = shipment.step(current, event, voided)
        assert disposition is expected[event.event_id]
        if disposition in (D.LATE, D.IGNORED, D.VOIDED):
            assert without_counters(after) == without_counters(current)
        if after.status != current.status:
            assert is_allowed(current.status, after.status) or disposition is D.CORRECTION
        if disposition is D.LATE:
            assert current.status not in TERMINAL and not is_allowed(current.status, event.status)
        current = after
    assert without_counters(current) == without_counters(state)

    # milestones: the first time each status was set by an applied event or a correction
    first_reached: dict[str, str] = {}
    for e in ordered:
        if expected[e.event_id] in (D.APPLIED, D.CORRECTION):
            first_reached.setdefault(e.status.value, e.occurred_utc)
    assert state.milestones == first_reached
    # exception info is there exactly while the status is EXCEPTION
    assert (state.exception is not None) == (state.status == S.EXCEPTION)
    assert state.needs_attention == (state.status in {S.EXCEPTION, S.DELIVERY_ATTEMPTED, S.LOST})


@EXAMPLES
@given(shipment_histories())
def test_a_voided_event_changes_nothing_but_the_counters(events):
    voided = voided_ids(events)
    kept = [e for e in events if e.event_id not in voided or e.is_correction]
    full, trimmed = shipment.fold(events), shipment.fold(kept)
    assert without_counters(full.state) == without_counters(trimmed.state)
    assert {k: v for k, v in full.dispositions.items() if k in trimmed.dispositions} == trimmed.dispositions


@EXAMPLES
@given(st.one_of(shipment_scenarios(), shipment_scenarios(pool=ARRIVAL_POOL, corrections=False, plausible=False)))
def test_arrival_order_status_changes(scenario):
    """What the *stored* status can do from one batch to the next (docs/STATUS_MODEL.md, "Arrival order").

    Proved there: without corrections, a change old -> new that is not ``is_allowed`` needs either
    (G1) a terminal old status, replaced by a terminal status whose event occurred earlier, or
    (G2) an EXCEPTION or EXPIRED event arriving in that batch (it may release events that were late).
    The literal rule "every stored change is allowed" does not hold: see the counterexample tests below.
    """
    events, batches, _ = scenario
    _, _, trace = ingest(batches, shipment, corrections_refold=True)
    sort_key = {e.event_id: e.sort_key for e in events}
    for step in trace:
        before, after = step.before, step.after
        if before is None or after.status == before.status or is_allowed(before.status, after.status):
            continue
        if after.corrections > 0:
            record_case("not allowed: correction involved")
            continue  # a correction may change anything; the state is still the fold of the set
        if before.status in TERMINAL:  # G1: the earliest terminal event wins
            record_case("not allowed: G1 earlier terminal")
            assert after.status in TERMINAL
            assert sort_key[after.status_event_id] < sort_key[before.status_event_id]
        else:  # G2
            record_case("not allowed: G2 released by exception/expired")
            assert any(e.status in ANYTIME for e in step.arrived), (before.status, after.status, step)
        assert step.how is Plan.REFOLD or any(e.status in ANYTIME for e in step.arrived)


@EXAMPLES
@given(shipment_scenarios())
def test_in_order_delivery_only_makes_allowed_moves(scenario):
    """Events delivered in occurrence order (the normal case) fold forward, and each batch's change of the stored
    status is allowed unless the batch passes through EXCEPTION or EXPIRED or holds a correction."""
    events, batches, _ = scenario
    ordered = unique_in_order(events)
    sizes = [len(b) for b in batches]
    in_order, start = [], 0
    for size in sizes:
        in_order.append(ordered[start : start + size])
        start += size
    in_order = [b for b in in_order if b]
    final, _, trace = ingest(in_order, shipment, corrections_refold=True)
    assert final == shipment.fold(events).state
    for step in trace:
        if any(e.is_correction for e in ordered):
            break
        assert step.how is Plan.FORWARD
        if step.before is not None and not any(e.status in ANYTIME for e in step.arrived):
            assert is_allowed(step.before.status, step.after.status)


def test_without_forced_refold_a_correction_may_miss_its_target():
    """Why ingest forces a re-fold once corrections are involved: folding forward would not void an event that
    arrives after the correction naming it."""
    fix = ev("fix", S.IN_TRANSIT, 0, event_type="correction", correction_of="wrong")
    wrong = ev("wrong", S.DELIVERED, 5)
    forced, _, _ = ingest([[fix], [wrong]], shipment, corrections_refold=True)
    unforced, _, _ = ingest([[fix], [wrong]], shipment, corrections_refold=False)
    assert forced == shipment.fold([fix, wrong]).state
    assert forced.status == S.IN_TRANSIT
    assert unforced.status == S.DELIVERED  # wrong: the voided delivery applied


# --- the arrival-order counterexamples (inherent to folding in occurrence order) -----------------------


def stored_statuses(batches: list[list]) -> list[Status]:
    _, _, trace = ingest(batches, shipment, corrections_refold=True)
    return [step.after.status for step in trace]


def test_counterexample_an_earlier_terminal_event_replaces_a_later_one():
    """DELIVERED (10:01) is stored; CANCELLED (10:00) arrives afterwards. In occurrence order the shipment was
    cancelled first and the delivery came after a terminal state, so it is ignored: DELIVERED -> CANCELLED
    without a correction. No rule can avoid it: fold({DELIVERED}) must be DELIVERED, fold({CANCELLED}) must be
    CANCELLED, and the fold of both must be the same whichever arrives first."""
    delivered, cancelled = ev("d", S.DELIVERED, 1), ev("c", S.CANCELLED, 0)
    assert stored_statuses([[delivered], [cancelled]]) == [S.DELIVERED, S.CANCELLED]
    assert not is_allowed(S.DELIVERED, S.CANCELLED)
    assert shipment.fold([delivered, cancelled]).dispositions == {"c": D.APPLIED, "d": D.IGNORED}


def test_counterexample_a_late_exception_releases_a_late_event():
    """IN_TRANSIT (10:00) and PICKED_UP (10:02, late: backwards) are stored, status IN_TRANSIT. Then an EXCEPTION
    (10:01) arrives: in occurrence order IN_TRANSIT -> EXCEPTION -> PICKED_UP is allowed (exception -> any
    non-terminal), so the stored status goes IN_TRANSIT -> PICKED_UP, a move back that no single event makes."""
    transit, picked, exception = ev("a", S.IN_TRANSIT, 0), ev("c", S.PICKED_UP, 2), ev("b", S.EXCEPTION, 1)
    assert stored_statuses([[transit], [picked], [exception]]) == [S.IN_TRANSIT, S.IN_TRANSIT, S.PICKED_UP]
    assert not is_allowed(S.IN_TRANSIT, S.PICKED_UP)
    assert shipment.fold([transit, picked, exception]).dispositions == dict.fromkeys("abc", D.APPLIED)


def test_counterexample_a_correction_changes_status_without_being_the_status_event():
    """A correction that occurred first (10:00, voiding the DELIVERED of 10:02) arrives last: the stored status goes
    DELIVERED -> IN_TRANSIT and the status event is the ordinary IN_TRANSIT event, not the correction."""
    fix = ev("fix", S.CREATED, 0, event_type="correction", correction_of="d")
    transit, delivered = ev("t", S.IN_TRANSIT, 1), ev("d", S.DELIVERED, 2)
    _, _, trace = ingest([[transit], [delivered], [fix]], shipment, corrections_refold=True)
    assert [s.after.status for s in trace] == [S.IN_TRANSIT, S.DELIVERED, S.IN_TRANSIT]
    assert trace[-1].after.status_event_id == "t"


# --- warehouse properties --------------------------------------------------------------------------


def ingest_warehouse(batches: list[list]) -> tuple[object, dict[str, int], dict, list[Plan]]:
    """The warehouse path of service/ingest.py: the state and, apart, the stock per SKU as the store keeps
    them. FORWARD starts from the stored quantities of the SKUs the new events move only; REFOLD folds the
    whole history and writes the quantities that differ from the stored ones; each write stores only the
    SKUs whose quantity changed."""
    state = None
    stored: dict[str, object] = {}  # the timeline
    stock: dict[str, int] = {}  # the SKU items
    timeline: dict[str, Disposition] = {}
    plans: list[Plan] = []
    for batch in batches:
        how, new = plan(state, batch)
        for event in batch:
            stored.setdefault(event.event_id, event)
        plans.append(how)
        if how is Plan.FORWARD:
            given = {sku: stock[sku] for sku in warehouse.stock_skus(new) if sku in stock}
            folded = warehouse.fold(new, state, given)
        elif how is Plan.REFOLD:
            given = dict(stock)
            folded = warehouse.fold(list(stored.values()))
        else:
            continue
        changed = warehouse.changed_stock(given, folded.stock)
        assert set(changed) <= warehouse.stock_skus(stored.values())
        stock.update(changed)
        state = folded.state
        timeline.update(folded.dispositions)
    return state, stock, timeline, plans


@EXAMPLES
@given(warehouse_scenarios())
def test_warehouse_state_and_stock_are_the_fold_of_the_set(scenario):
    events, first, second = scenario
    reference = warehouse.fold(events)
    assert reference.state.skus == len(reference.stock)
    assert reference.state.units == sum(reference.stock.values())
    for batches in (first, second):
        state, stock, timeline, plans = ingest_warehouse(batches)
        note(f"plans: {plans}")
        record_case(f"warehouse batches: {'+'.join(sorted(set(plans)))}")
        assert state == reference.state
        assert stock == reference.stock
        assert timeline == reference.dispositions == dict.fromkeys({e.event_id for e in events}, D.APPLIED)


@EXAMPLES
@given(warehouse_histories())
def test_warehouse_stock_and_on_hand_follow_the_movements(events):
    ordered = unique_in_order(events)
    stock: dict[str, int] = {}
    on_hand: dict[str, dict] = {}
    for e in ordered:
        for line in e.items:
            if e.event_type in ("received", "return_received", "adjusted"):
                stock[line.sku] = stock.get(line.sku, 0) + line.qty
            elif e.event_type == "picked":
                stock[line.sku] = stock.get(line.sku, 0) - line.qty
            elif e.event_type == "cycle_counted":
                stock[line.sku] = line.qty
        if e.shipment_id and e.event_type in ("picked", "packed", "staged"):
            since = on_hand.get(e.shipment_id, {}).get("since", e.occurred_utc)
            on_hand[e.shipment_id] = {"since": since, "stage": e.event_type, "zone": e.zone}
        elif e.shipment_id and e.event_type in ("loaded", "dispatched"):
            on_hand.pop(e.shipment_id, None)
    folded = warehouse.fold(events)
    assert folded.stock == stock
    assert (folded.state.skus, folded.state.units) == (len(stock), sum(stock.values()))
    assert folded.state.on_hand == on_hand
    assert folded.state.event_count == len(ordered)
    assert folded.state.high_water == ordered[-1].sort_key


# --- the arrival-order guarantee, exhaustively on small histories ------------------------------------


def test_arrival_order_guarantee_holds_for_every_three_event_history_and_arrival_order():
    """Every history of three events (all 15^3 status combinations, distinct instants, no corrections), delivered
    one by one in each of the 6 orders: the stored status only makes moves that are allowed, G1 or G2."""
    hits = {"G1": 0, "G2": 0}
    for combo in itertools.product(list(S), repeat=3):
        history = [ev(f"e{i}", status, i) for i, status in enumerate(combo)]
        for order in itertools.permutations(history):
            _, _, trace = ingest([[e] for e in order], shipment, corrections_refold=True)
            for step in trace:
                before, after = step.before, step.after
                if before is None or is_allowed(before.status, after.status):
                    continue
                if before.status in TERMINAL:
                    hits["G1"] += 1
                    assert after.status in TERMINAL and after.status_event_id < before.status_event_id
                else:
                    hits["G2"] += 1
                    assert step.arrived[0].status in ANYTIME
    # both kinds of counterexample to the naive rule exist, and they are not rare
    assert hits["G1"] > 100 and hits["G2"] > 100, hits
