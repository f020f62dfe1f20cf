"""End to end on the embedded stack: simulated events through a real Kafka client, the emulated
mappings and the real handlers, checked against the domain model's ground truth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runtime.simulator.noise import NoiseShares
from tests.e2e.faults.support import Pipeline, check_final_states, eventually
from tests.e2e.faults.support import assert_equal as _assert_equal
from tests.e2e.faults.support import assert_positive as _assert_positive

pytestmark = pytest.mark.slow


@pytest.fixture
def pipeline(moto_endpoint: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Pipeline]:
    # The default path of `logistics up`: the registry on, producers framing (Pipeline.produce).
    p = Pipeline(moto_endpoint, kafka_bootstrap, tmp_path, parameter_overrides={"KafkaSchemaRegistry": "Enabled"})
    yield p
    p.close()


def test_simulated_traffic_lands_as_the_domain_model_says(pipeline: Pipeline) -> None:
    shares = NoiseShares(duplicates=0.05, late=0.05, poison=0.03)
    summary = pipeline.produce(600, seed=11, shares=shares)
    assert summary.duplicates > 0 and summary.late > 0 and summary.poison > 0

    # The consumer groups commit exactly to the log end: every record was resolved.
    eventually(lambda: _assert_equal(pipeline.committed(), dict(summary.per_topic)))
    eventually(lambda: check_final_states(pipeline, summary))

    # Each poison event is dead-lettered with a reason.
    def poison_dead_lettered() -> None:
        found = pipeline.dead_letter_hashes()
        missing = [p for p in summary.poison_events if p.sha256 not in found]
        assert not missing, missing
        assert all(found[p.sha256] for p in summary.poison_events)

    eventually(poison_dead_lettered)

    # Each real status change is notified exactly once: the signed webhooks received match the
    # status changes in the state stream one for one.
    def notified_once() -> None:
        expected = pipeline.stream_changes()
        assert expected and all(n == 1 for n in expected.values())
        assert pipeline.sink.ids == expected
        assert pipeline.sink.rejected == 0

    eventually(notified_once)


def test_restarting_the_mappings_loses_nothing_and_renotifies_nothing(pipeline: Pipeline) -> None:
    shares = NoiseShares(duplicates=0.05, late=0.05, poison=0.0)
    first = pipeline.produce(250, seed=21, shares=shares)
    eventually(lambda: _assert_positive(pipeline.platform.counters()["kafka_records_delivered"]), 60, 0.05)
    pipeline.platform.stop_mappings()  # mid-stream: some records are not processed yet
    delivered_before = len(pipeline.sink.deliveries)
    second = pipeline.produce(250, seed=22, shares=shares)
    pipeline.platform.start_mappings()

    totals = Counter(first.per_topic) + Counter(second.per_topic)
    eventually(lambda: _assert_equal(pipeline.committed(), dict(totals)))
    eventually(lambda: check_final_states(pipeline, first, second))

    def notified_once() -> None:
        expected = pipeline.stream_changes()
        assert pipeline.sink.ids == expected
        assert pipeline.sink.duplicates == 0

    eventually(notified_once)
    assert len(pipeline.sink.deliveries) > delivered_before

