"""The scheduled estimate check's walk: bounded per run, resumed where it stopped, started again at the end."""

from __future__ import annotations

from datetime import UTC, datetime

from logistics.service.estimate_check import EstimateCheck, StalledPage
from logistics.service.notify import Outcome

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Partition:
    """One merchant's IN_TRANSIT shipments by status_key, as the index would page them."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = sorted(keys)
        self.asked: list[tuple[str, str, str | None, int]] = []

    def merchant_ids(self) -> list[str]:
        return ["m1"]

    def stalled(self, merchant_id, status, since, until, after, limit) -> StalledPage:
        self.asked.append((since, until, after, limit))
        inside = [k for k in self.keys if since <= k <= until and (after is None or k > after)]
        page = inside[:limit]
        return StalledPage([{"merchant_id": merchant_id, "shipment_id": k.split("#")[1], "status_key": k}
                            for k in page], page[-1] if page else None, len(inside) <= limit)


class Cursors(dict):
    def get(self, merchant_id):  # type: ignore[override]
        return dict(super().get(merchant_id) or {})

    def put(self, merchant_id, cursors):
        self[merchant_id] = dict(cursors)


class Notices:
    def __init__(self) -> None:
        self.checked: list[str] = []

    def check(self, item):
        self.checked.append(item["shipment_id"])
        return [Outcome("webhook", "sent")] if item["shipment_id"] == "s13" else []


def test_each_run_checks_at_most_its_share_and_the_next_resumes_until_every_shipment_was_checked():
    keys = [f"2026-11-{day:02d}T08:00:00.000Z#s{day}" for day in range(11, 16)]
    keys.append("2026-12-01T11:30:00.000Z#fresh")  # changed status 30 min ago: the notifier checked it
    keys.append("2026-09-01T08:00:00.000Z#ancient")  # stalled beyond the lookback
    shipments, cursors, notices = Partition(keys), Cursors(), Notices()
    check = EstimateCheck(shipments, cursors, notices, max_shipments=2, statuses=("IN_TRANSIT",),
                          clock=lambda: NOW)

    runs = [check.run() for _ in range(4)]

    assert notices.checked == ["s11", "s12", "s13", "s14", "s15", "s11", "s12"]
    assert [r.checked for r in runs] == [2, 2, 1, 2] and [r.told for r in runs] == [0, 1, 0, 0]
    since, until, _, limit = shipments.asked[0]
    assert (since, until, limit) == ("2026-11-01T12:00:00.000Z", "2026-12-01T11:00:00.000Z", 2)
    assert [a[2] for a in shipments.asked] == [None, keys[1], keys[3], None]
    assert cursors["m1"] == {"IN_TRANSIT": keys[1]}


def test_no_partition_is_started_without_time_left_and_a_failing_check_does_not_stop_the_walk():
    class Failing(Notices):
        def check(self, item):
            super().check(item)
            if item["shipment_id"] == "s11":
                raise RuntimeError("lanes unreadable")
            return []

    shipments, notices = Partition([f"2026-11-{d:02d}T08:00:00.000Z#s{d}" for d in (11, 12)]), Failing()
    check = EstimateCheck(shipments, Cursors(), notices, statuses=("IN_TRANSIT", "EXCEPTION"), clock=lambda: NOW)
    clock = iter([60.0, 5.0])

    result = check.run(time_left_s=lambda: next(clock))

    assert notices.checked == ["s11", "s12"] and result.checked == 1 and result.left == 1
    assert result.errors == ["m1/s11: RuntimeError: lanes unreadable"]
