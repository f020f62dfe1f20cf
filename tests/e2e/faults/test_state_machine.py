"""Faults interleaved by Hypothesis: a rule-based state machine produces simulated traffic, replays some of
what was sent (duplicates), sends a chunk in shuffled order (reordering), makes some of the ingest
invocations of a chunk crash half-way (``crashes``) and restarts the mappings - in any order - and checks
after every step that nothing was lost and nothing was sent twice. Examples are kept small (a few steps of
tens of events) so the run takes a minute or two.

The platform lives across examples (starting one per example would cost more than the example), so the
ground truth does too: every check is against everything sent so far.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from local_runtime.simulator.noise import NoiseShares
from local_runtime.simulator.producer import KafkaSink, MemorySink, SentRecord, TeeSink
from local_runtime.simulator.run import simulate
from tests.e2e.faults.support import IngestCrashes, Pipeline, assert_nothing_lost_nothing_twice

pytestmark = pytest.mark.slow

SHARES = NoiseShares(duplicates=0.05, late=0.05, poison=0.03)


@dataclass
class World:
    """What has been sent so far, across examples."""

    pipeline: Pipeline
    crashes: IngestCrashes
    summaries: list[Any] = field(default_factory=list)
    history: list[SentRecord] = field(default_factory=list)
    sent: int = 0
    chunks: int = 0
    steps: dict[str, int] = field(default_factory=dict)
    checks: int = 0

    def next_seed(self, drawn: int) -> int:
        # Unique per chunk: the same seed twice would make other events under the same ids.
        self.chunks += 1
        return 100_000 + self.chunks * 1000 + drawn % 1000

    def send(self, records: list[SentRecord]) -> None:
        sink = KafkaSink(self.pipeline.platform.kafka.bootstrap_servers)
        for r in records:
            sink.send(r.topic, r.key, r.value, r.headers)
        assert sink.flush(60) == 0 and sink.stats.failed == 0
        self.history.extend(records)
        self.sent += len(records)


def test_interleaved_faults_lose_nothing_and_send_nothing_twice(
        moto_endpoint: str, kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline, crashes = IngestCrashes.pipeline(moto_endpoint, kafka_bootstrap, tmp_path, monkeypatch, every=0)
    try:
        world = World(pipeline, crashes)

        class Faults(RuleBasedStateMachine):
            def __init__(self) -> None:
                super().__init__()
                self.sent_here = False  # preconditions may depend on this example's steps only

            def _did(self, step: str) -> None:
                world.steps[step] = world.steps.get(step, 0) + 1

            @initialize(count=st.integers(40, 80), drawn=st.integers(0, 999), crashes=st.integers(0, 2))
            def start_with_traffic(self, count: int, drawn: int, crashes: int) -> None:
                self.produce(count, drawn, crashes)

            @rule(count=st.integers(20, 80), drawn=st.integers(0, 999), crashes=st.integers(0, 2))
            def produce(self, count: int, drawn: int, crashes: int) -> None:
                """Simulated traffic; ``crashes`` of the ingest invocations it causes crash half-way."""
                world.crashes.arm(crashes)
                recorded = MemorySink()
                kafka = KafkaSink(pipeline.platform.kafka.bootstrap_servers)
                summary = simulate(TeeSink(kafka, recorded), rate=None, count=count, seed=world.next_seed(drawn),
                                   shares=SHARES, topics=pipeline.topics, progress=False)
                assert kafka.stats.failed == 0
                world.summaries.append(summary)
                world.history.extend(recorded.records)
                world.sent += len(recorded.records)
                self.sent_here = True
                self._did("produce")

            @precondition(lambda self: self.sent_here)
            @rule(picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=30))
            def duplicate(self, picks: list[int]) -> None:
                """Send again, byte for byte, messages sent before (a producer retry, an upstream replay)."""
                world.send([world.history[p % len(world.history)] for p in picks])
                self._did("duplicate")

            @rule(count=st.integers(20, 60), drawn=st.integers(0, 999), order=st.integers(0, 2**16),
                  crashes=st.integers(0, 2))
            def reorder(self, count: int, drawn: int, order: int, crashes: int) -> None:
                """A chunk whose messages arrive in a shuffled order (the fold does not depend on it)."""
                world.crashes.arm(crashes)
                recorded = MemorySink()
                summary = simulate(recorded, rate=None, count=count, seed=world.next_seed(drawn), shares=SHARES,
                                   topics=pipeline.topics, progress=False)
                records = list(recorded.records)
                random.Random(order).shuffle(records)
                world.summaries.append(summary)
                world.send(records)
                self.sent_here = True
                self._did("reorder")

            @rule()
            def restart_mappings(self) -> None:
                pipeline.platform.stop_mappings()
                pipeline.platform.start_mappings()
                self._did("restart")

            @invariant()
            def nothing_lost_nothing_sent_twice(self) -> None:
                if not world.summaries:
                    return
                assert_nothing_lost_nothing_twice(pipeline, pipeline.sink, world.summaries, sent=world.sent,
                                                  require_changes=False)
                world.checks += 1

        run_state_machine_as_test(Faults, settings=settings(
            max_examples=3, stateful_step_count=4, deadline=None, database=None, derandomize=True,
            phases=(Phase.explicit, Phase.generate),  # no shrinking: each step waits for the pipeline
            suppress_health_check=list(HealthCheck)))

        outcome = assert_nothing_lost_nothing_twice(pipeline, pipeline.sink, world.summaries, sent=world.sent,
                                                    name="state machine", require_changes=False)
        print(f"[state machine] steps={world.steps} checks={world.checks} messages sent={world.sent} "
              f"crashes={dict(world.crashes.crashes)} (armed, not yet taken: {world.crashes.armed})")
        assert world.checks >= 3 and outcome.lost == 0
        # Derandomized, so the same steps every run: they must keep exercising the faults.
        assert world.crashes.total > 0 and world.steps.get("restart", 0) > 0, world.steps
    finally:
        pipeline.close()
