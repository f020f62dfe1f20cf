"""Fault: the merchants' webhook receiver goes down (connections refused), comes back slower than the
sender's timeout (it gets each webhook but answers too late, so the sender retries), then recovers - all while
traffic flows. Once it is back and the pipeline is idle, every status change was received, once after
deduplicating on the notification id; the duplicates received before deduplication are counted."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from local_runtime.simulator.noise import NoiseShares
from logistics.adapters.webhooks import HttpWebhookSender
from tests.e2e.faults.support import ControlledSink, Pipeline, assert_nothing_lost_nothing_twice, eventually

pytestmark = pytest.mark.slow

# The notify mapping retries a failed record 5 times with backoff (0.2 s doubling): ~8 s before it would
# give up. The outage stays inside that (the first record to fail waits at most ~2 s), as a blip would.
DOWN_S = 2.0
DOWN_AFTER_FAILURE_S = 1.0
SLOW_S = 3.0
DELAY_S = HttpWebhookSender().timeout_s + 1.5  # longer than the sender's timeout


def test_a_receiver_down_then_slow_then_back_gets_every_change_once_after_dedup(
        moto_endpoint: str, kafka_bootstrap: str, tmp_path: Path) -> None:
    sink = ControlledSink()
    pipeline = Pipeline(moto_endpoint, kafka_bootstrap, tmp_path, sink=sink)
    produced: dict[str, Any] = {}
    producer = threading.Thread(target=lambda: produced.update(summary=pipeline.produce(
        1500, seed=51, shares=NoiseShares(duplicates=0.03, late=0.03, poison=0.01), rate=120)), daemon=True)
    try:
        producer.start()
        eventually(lambda: _assert_at_least(len(sink.ids), 3), 60, 0.1)  # notifications are flowing

        sink.down()
        down_at, went_down = len(sink.ids), time.monotonic()
        # Down until a notify invocation failed on it (traffic flows, so one soon does), and a little more.
        eventually(lambda: _assert_at_least(pipeline.mapping_counters()["stream_failures"], 1), 60, 0.05)
        time.sleep(max(DOWN_AFTER_FAILURE_S, DOWN_S - (time.monotonic() - went_down)))
        failures_while_down = pipeline.mapping_counters()["stream_failures"]

        sink.delay_s = DELAY_S
        sink.up()
        eventually(lambda: _assert_at_least(sink.delayed, 1), 60, 0.1)  # a webhook arrived while slow
        time.sleep(SLOW_S)
        sink.delay_s = 0.0

        producer.join(120)
        assert not producer.is_alive()
        outcome = assert_nothing_lost_nothing_twice(pipeline, sink, [produced["summary"]], name="webhook outage")
        counters = pipeline.mapping_counters()
        print(f"[webhook outage] received before the outage={down_at}, responses held back={sink.delayed}, "
              f"notify failures={counters['stream_failures']} (partial {counters['stream_partial_failures']}, "
              f"function errors {counters['stream_function_errors']}, retries {counters['stream_retries']})")
        # The outage was felt (failed notify invocations, retried), and the slow receiver got duplicates.
        assert failures_while_down > 0 and counters["stream_retries"] > 0
        assert outcome.webhook_duplicates > 0
        assert counters["stream_records_dead_lettered"] == 0
        assert outcome.lost == 0
    finally:
        sink.delay_s = 0.0
        producer.join(120)
        pipeline.close()


def _assert_at_least(value: int, minimum: int) -> None:
    assert value >= minimum
