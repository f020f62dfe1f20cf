"""Fault: the merchants' webhook receiver goes down (connections refused) for much longer than the notifier's
retries inside one invocation and the stream mapping's retries together (~10 s, which used to lose the
notifications), then comes back slower than the sender's timeout (it gets each webhook but answers too late, so
the sender retries), then recovers - all while traffic flows.

The retry parameters are made short through the template's parameters (which become the functions'
``NOTIFY_RETRY_*`` environment variables) and the schedule runs 60x faster (the outbox sweep every second): the
outage lasts many backoff steps but stays inside the retry window, so nothing may be given up. Once the
receiver is back and the pipeline is idle, every status change was received, once after deduplicating on the
notification id, each time with the same body; no stream record failed and the outbox is empty.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from local_runtime.simulator.noise import NoiseShares
from logistics.adapters.webhooks import HttpWebhookSender
from tests.e2e.faults.support import ControlledSink, Pipeline, assert_nothing_lost_nothing_twice, eventually

pytestmark = pytest.mark.slow

RETRY = {"NotifyRetryBaseSeconds": "1", "NotifyRetryCapSeconds": "4", "NotifyRetryWindowSeconds": "600"}
DOWN_S = 15.0  # 1.5 times what used to lose notifications, about four times the longest wait between attempts
SLOW_S = 3.0
DELAY_S = HttpWebhookSender().timeout_s + 1.5  # longer than the sender's timeout


def test_a_receiver_down_for_long_then_slow_then_back_gets_every_change_once_after_dedup(
        moto_endpoint: str, kafka_bootstrap: str, tmp_path: Path) -> None:
    sink = ControlledSink()
    pipeline = Pipeline(moto_endpoint, kafka_bootstrap, tmp_path, sink=sink, parameter_overrides=RETRY,
                        schedule_speedup=60)
    produced: dict[str, Any] = {}
    producer = threading.Thread(target=lambda: produced.update(summary=pipeline.produce(
        1000, seed=51, shares=NoiseShares(duplicates=0.03, late=0.03, poison=0.01), rate=80)), daemon=True)
    try:
        producer.start()
        eventually(lambda: _assert_at_least(len(sink.ids), 3), 60, 0.1)  # notifications are flowing

        sink.down()
        went_down = time.monotonic()
        # A delivery the receiver accepted just before it went down may still be recorded by its handler thread:
        # it was received before the outage, so count from when those have finished.
        time.sleep(1.0)
        down_at, waiting_peak = len(sink.ids), 0
        # Down for DOWN_S, and at least until some changes wait in the outbox (a loaded machine may be slow).
        while time.monotonic() - went_down < DOWN_S or (waiting_peak == 0 and time.monotonic() - went_down < 90):
            waiting_peak = max(waiting_peak, len(_waiting(pipeline)))
            time.sleep(0.5)
        received_while_down = len(sink.ids) - down_at

        sink.delay_s = DELAY_S
        sink.up()
        eventually(lambda: _assert_at_least(sink.delayed, 1), 60, 0.1)  # a webhook arrived while slow
        time.sleep(SLOW_S)
        sink.delay_s = 0.0

        producer.join(120)
        assert not producer.is_alive()
        outcome = assert_nothing_lost_nothing_twice(pipeline, sink, [produced["summary"]], name="webhook outage")
        eventually(lambda: _assert_equal(_waiting(pipeline), []), 60, 0.5)  # the outbox drained
        log = pipeline.table("NotificationsTable").scan()["Items"]  # a test may Scan; the platform never does
        webhooks = [item for item in log if item["channel"] == "webhook"]
        redelivered = [item for item in webhooks if int(item.get("attempts", 1)) > 1]
        counters = pipeline.mapping_counters()
        print(f"[webhook outage] received before the outage={down_at}, while down={received_while_down}, "
              f"waiting in the outbox at most={waiting_peak}, redelivered={len(redelivered)} (most attempts "
              f"{max((int(i['attempts']) for i in webhooks), default=0)}), responses held back={sink.delayed}, "
              f"notify record failures={counters['stream_failures']}")
        assert received_while_down == 0 and waiting_peak > 0 and redelivered  # the outage was felt, then made up
        # The outage failed no stream record: the outbox, not the mapping's retries, carried the deliveries.
        assert counters["stream_failures"] == 0 and counters["stream_records_dead_lettered"] == 0
        assert not [item for item in log if item["outcome"] != "sent" and item["channel"] == "webhook"]
        assert outcome.webhook_duplicates > 0  # the slow receiver got some twice: the same id ...
        bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for payload in sink.deliveries:
            bodies[payload["id"]].append(payload)
        assert all(all(p == same[0] for p in same) for same in bodies.values())  # ... with the same body
        assert outcome.lost == 0
    finally:
        sink.delay_s = 0.0
        producer.join(120)
        pipeline.close()


def _waiting(pipeline: Pipeline) -> list[dict[str, Any]]:
    """The webhooks in the outbox (the sparse by_due index; it also holds customer messages for quiet hours)."""
    table = pipeline.table("NotificationsTable")
    items = table.query(IndexName="by_due", KeyConditionExpression=Key("deferred_bucket").eq("deferred"))["Items"]
    return [item for item in items if item["channel"] == "webhook"]


def _assert_at_least(value: int, minimum: int) -> None:
    assert value >= minimum


def _assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected, json.dumps(actual, default=str)[:500]
