"""Fault: a poison flood - 10 % of the messages are poison (not JSON, schema-invalid, unknown event type,
oversized) at 200 messages/s. Every poison record is dead-lettered with a reason, every valid event is
stored, and no batch is given up to the on-failure queue (poison never fails a batch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_runtime.simulator.noise import NoiseShares
from tests.e2e.faults.support import Pipeline, assert_nothing_lost_nothing_twice

pytestmark = pytest.mark.slow


def test_a_poison_flood_is_dead_lettered_and_the_valid_events_all_land(
        moto_endpoint: str, kafka_bootstrap: str, tmp_path: Path) -> None:
    pipeline = Pipeline(moto_endpoint, kafka_bootstrap, tmp_path)
    try:
        summary = pipeline.produce(1600, seed=61, shares=NoiseShares(duplicates=0.02, late=0.02, poison=0.10),
                                   rate=200)
        assert 0.07 < summary.poison / summary.produced < 0.13 and len(summary.poison_by_kind) == 4
        outcome = assert_nothing_lost_nothing_twice(pipeline, pipeline.sink, [summary], name="poison flood")
        counters = pipeline.mapping_counters()
        print(f"[poison flood] poison by kind={dict(summary.poison_by_kind)} rate={summary.rate:.0f}/s "
              f"ingest invocations={counters['kafka_invocations']} failures={counters['kafka_failures']}")
        # Poison is resolved inside the batch: no failed invocation, nothing given up.
        assert counters["kafka_function_errors"] == 0
        assert counters["kafka_records_dead_lettered"] == 0 and counters["kafka_records_discarded"] == 0
        assert outcome.poison == summary.poison and outcome.lost == 0
    finally:
        pipeline.close()
