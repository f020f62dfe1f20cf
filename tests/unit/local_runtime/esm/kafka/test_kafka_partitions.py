"""Per-partition offsets of the Kafka mapping (local_runtime.esm.kafka.partitions), without a broker.
Its filter is tested in tests/unit/local_runtime/esm/test_filter_kafka.py."""

from __future__ import annotations

from local_runtime.esm.kafka.events import KafkaMessage, build_kafka_record
from local_runtime.esm.kafka.partitions import PartitionBook, PendingMessage

TOPIC = "shipment-events"


def pending(partition: int, offset: int, ts: int = 1000, value: bytes | None = b"{}") -> PendingMessage:
    msg = KafkaMessage(topic=TOPIC, partition=partition, offset=offset, timestamp_ms=ts, value=value)
    return PendingMessage(record=build_kafka_record(msg), size=1, arrived=0.0, msg=msg)


def test_commit_position_is_the_first_unresolved_offset() -> None:
    book = PartitionBook()
    book.assigned = {(TOPIC, 0), (TOPIC, 1)}
    p0 = [pending(0, n) for n in range(3)]
    for p in p0:
        assert book.consumed(p.msg)
        book.track(p)
    assert book.consumed(pending(1, 7).msg)  # consumed and filtered out: never tracked
    assert book.to_commit() == {(TOPIC, 0): 0, (TOPIC, 1): 8}
    p0[0].resolved = p0[2].resolved = True
    assert book.to_commit() == {(TOPIC, 0): 1, (TOPIC, 1): 8}
    book.committed.update(book.to_commit())
    assert book.to_commit() == {}  # nothing new
    p0[1].resolved = True
    assert book.to_commit(only={(TOPIC, 1)}) == {}
    assert book.to_commit() == {(TOPIC, 0): 3}
    assert book.committed_by_key() == {f"{TOPIC}-0": 1, f"{TOPIC}-1": 8}


def test_at_timestamp_skips_earlier_records_until_one_is_at_or_after() -> None:
    book = PartitionBook()
    book.skip_before_ts[(TOPIC, 0)] = 2000
    assert not book.consumed(pending(0, 0, ts=1999).msg)
    assert book.consumed(pending(0, 1, ts=2000).msg)
    assert book.consumed(pending(0, 2, ts=1500).msg)  # only the first records are skipped
    assert book.fetch_pos[(TOPIC, 0)] == 3


def test_lag_and_caught_up_from_watermarks() -> None:
    book = PartitionBook()
    book.assigned = {(TOPIC, 0), (TOPIC, 1)}
    book.track(pending(0, 4))
    book.fetch_pos[(TOPIC, 0)] = 5
    marks = {(TOPIC, 0): (0, 10), (TOPIC, 1): (2, 6)}
    assert book.lag(marks.get, latest=False) == (10 - 4) + (6 - 2)
    assert book.lag(marks.get, latest=True) == 10 - 4  # nothing consumed of partition 1: start at its end
    assert not book.caught_up(marks.get, latest=True)
    book.unresolved[(TOPIC, 0)][0].resolved = True
    book.unresolved.clear()
    book.fetch_pos[(TOPIC, 0)] = 10
    assert book.caught_up(marks.get, latest=True) and not book.caught_up(marks.get, latest=False)
    assert not book.caught_up(lambda tp: None, latest=True)  # no watermark yet: not known to be caught up


def test_forget_drops_partitions_but_keeps_committed_offsets() -> None:
    book = PartitionBook()
    book.assigned = {(TOPIC, 0)}
    book.track(pending(0, 1))
    book.fetch_pos[(TOPIC, 0)] = 2
    book.committed[(TOPIC, 0)] = 1
    book.forget([(TOPIC, 0)])
    assert not book.assigned and not book.unresolved and not book.fetch_pos
    assert book.committed == {(TOPIC, 0): 1}
