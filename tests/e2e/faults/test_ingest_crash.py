"""Fault: the ingest handler crashes in the middle of a batch, after part of its writes, and the mapping
redelivers the batch. Nothing is lost (the retry writes what the crash left out) and nothing is notified
twice (what the crashed invocation already stored re-folds to the stored state and is not written again)."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_runtime.simulator.noise import NoiseShares
from tests.e2e.faults.support import IngestCrashes, assert_nothing_lost_nothing_twice

pytestmark = pytest.mark.slow


def test_a_crash_after_partial_writes_is_redelivered_without_loss_or_double_notification(
        moto_endpoint: str, kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline, crashes = IngestCrashes.pipeline(moto_endpoint, kafka_bootstrap, tmp_path, monkeypatch,
                                               every=2, limit=20)
    try:
        # Paced, so the ingest sees many batches (and so many invocations to crash), not one or two big ones.
        summary = pipeline.produce(900, seed=31, shares=NoiseShares(duplicates=0.05, late=0.05, poison=0.02),
                                   rate=300)
        outcome = assert_nothing_lost_nothing_twice(pipeline, pipeline.sink, [summary], name="ingest crash")

        counters = pipeline.mapping_counters()
        print(f"[ingest crash] crashes={dict(crashes.crashes)} ingest invocations={crashes.invocations} "
              f"counters={counters}")
        assert crashes.crashes["after_timeline"] > 0 and crashes.crashes["after_half_of_the_states"] > 0
        # Each crash is a function error the mapping saw and retried; nothing was given up.
        assert counters["kafka_function_errors"] >= crashes.total
        assert counters["kafka_records_dead_lettered"] == 0 and counters["stream_records_dead_lettered"] == 0
        assert outcome.lost == 0
    finally:
        pipeline.close()
