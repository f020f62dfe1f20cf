"""The batcher's rules (local_runtime.esm.batcher): a batch closes at BatchSize records, at the payload
limit, when the batching window of its first record has passed, or when flushed."""

from __future__ import annotations

from local_runtime.esm.batcher import Batcher
from local_runtime.esm.records import PendingRecord


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def rec(n: int, size: int = 10, arrived: float = 100.0) -> PendingRecord:
    return PendingRecord(record={"n": n}, size=size, arrived=arrived)


def numbers(batch: list[PendingRecord]) -> list[int]:
    return [r.record["n"] for r in batch]


def test_empty_batcher_is_never_due() -> None:
    b: Batcher[PendingRecord] = Batcher(3, 0.0)
    assert not b.due() and not b.due(flush=True)
    assert b.take() == [] and b.window_closes_at() is None and len(b) == 0


def test_batch_size_closes_a_batch_and_take_keeps_arrival_order() -> None:
    clock = Clock()
    b: Batcher[PendingRecord] = Batcher(3, 60.0, clock=clock)
    for n in range(2):
        b.add(rec(n))
    assert not b.due() and b.room() == 1
    for n in range(2, 5):
        b.add(rec(n))
    assert b.due()
    assert numbers(b.take()) == [0, 1, 2]
    assert numbers(list(b)) == [3, 4] and b.buffered_bytes == 20
    assert not b.due()  # 2 < 3 and the window is still open


def test_window_counts_from_the_first_buffered_record() -> None:
    clock = Clock()
    b: Batcher[PendingRecord] = Batcher(100, 0.5, clock=clock)
    b.add(rec(0, arrived=100.0))
    clock.now = 100.4
    b.add(rec(1, arrived=100.4))
    assert not b.due() and b.window_closes_at() == 100.5
    clock.now = 100.5
    assert b.due()
    assert numbers(b.take()) == [0, 1]


def test_zero_window_closes_at_once_and_flush_closes_any_batch() -> None:
    clock = Clock()
    assert Batcher(100, 0.0, clock=clock).room() == 100
    b: Batcher[PendingRecord] = Batcher(100, 0.0, clock=clock)
    b.add(rec(0))
    assert b.due()
    slow: Batcher[PendingRecord] = Batcher(100, 60.0, clock=clock)
    slow.add(rec(0))
    assert not slow.due() and slow.due(flush=True)


def test_bytes_close_a_batch_before_the_payload_limit() -> None:
    clock = Clock()
    b: Batcher[PendingRecord] = Batcher(100, 60.0, base_size=20, max_bytes=100, clock=clock)
    for n in range(3):
        b.add(rec(n, size=30))  # 20 + 90 = 110 >= 100
    assert b.due()
    assert numbers(b.take()) == [0, 1]  # a third record would make 110 > 100
    assert numbers(b.take()) == [2]


def test_an_oversized_record_still_forms_a_batch_alone() -> None:
    b: Batcher[PendingRecord] = Batcher(100, 0.0, base_size=20, max_bytes=100)
    b.add(rec(0, size=500))
    b.add(rec(1, size=5))
    assert numbers(b.take()) == [0]  # the executor disposes of it (MaximumPayloadSizeExceeded)
    assert numbers(b.take()) == [1]


def test_discard_drops_records_and_their_bytes() -> None:
    b: Batcher[PendingRecord] = Batcher(100, 60.0)
    for n in range(4):
        b.add(rec(n, size=n + 1))
    b.discard(lambda r: r.record["n"] % 2 == 0)
    assert numbers(list(b)) == [1, 3] and b.buffered_bytes == 2 + 4


def test_out_of_range_settings_are_clamped() -> None:
    b: Batcher[PendingRecord] = Batcher(0, -1.0)
    assert b.batch_size == 1 and b.window_s == 0.0
