"""Fault: the local runtime is killed with SIGKILL mid-stream and started again. It runs in a process of its
own on services the test started (moto, the broker, DynamoDB Local), so they survive the kill; the restarted
runtime resumes the Kafka mappings from their committed offsets and the stream mapping from its checkpoints
under ``state_dir``. Whatever the killed process had in flight is redelivered: nothing lost, and each status
change received once after deduplication (a webhook sent just before the kill may arrive twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from local_runtime.simulator.noise import NoiseShares
from local_runtime.simulator.run import simulate
from tests.e2e.faults.support import (
    ROOT,
    ControlledSink,
    Deployed,
    assert_nothing_lost_nothing_twice,
    committed,
    eventually,
)

pytestmark = pytest.mark.slow


class Runtime:
    """The runtime child process (see runtime_child.py)."""

    def __init__(self, args: list[str], describe: Path, log: Path) -> None:
        describe.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        self.log = log.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "tests.e2e.faults.runtime_child", *args],
                                        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while not describe.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the runtime did not start: see {log}\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        self.deployed = Deployed.from_json(describe.read_text(encoding="utf-8"))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.log.close()


def test_the_runtime_killed_mid_stream_and_restarted_loses_nothing(
        moto_endpoint: str, kafka_bootstrap: str, dynamodb_endpoint: str | None, tmp_path: Path) -> None:
    if dynamodb_endpoint is None:
        pytest.skip("needs DynamoDB Local: moto's DynamoDB would die with the runtime")
    sink = ControlledSink()
    suffix = uuid.uuid4().hex[:6]
    describe, log = tmp_path / "deployed.json", tmp_path / "runtime.log"
    args = ["--aws-endpoint", moto_endpoint, "--kafka", kafka_bootstrap, "--state-dir", str(tmp_path / "state"),
            "--suffix", suffix, "--webhooks", sink.base_url, "--describe", str(describe)]
    runtime: Runtime | None = None
    producer: threading.Thread | None = None
    try:
        runtime = Runtime(args, describe, log)
        d = runtime.deployed
        produced: dict[str, Any] = {}
        topics = (d.topics[0], d.topics[1]) if d.topics[0].startswith("shipment") else (d.topics[1], d.topics[0])
        producer = threading.Thread(target=lambda: produced.update(summary=simulate(
            kafka_bootstrap, rate=120, count=1200, seed=81, topics=topics, progress=False,
            shares=NoiseShares(duplicates=0.03, late=0.03, poison=0.02))), daemon=True)
        producer.start()
        # Mid-stream: some records committed, webhooks going out, the producer still running.
        eventually(lambda: _assert_at_least(sum(committed(d).values()), 100), 90, 0.2)
        eventually(lambda: _assert_at_least(len(sink.ids), 3), 90, 0.1)
        committed_at_kill, received_at_kill = sum(committed(d).values()), len(sink.ids)
        runtime.kill()
        killed_at = time.monotonic()
        assert producer.is_alive(), "the stream had ended before the kill: produce more or slower"

        runtime = Runtime(args, describe, log)
        restart_s = time.monotonic() - killed_at
        producer.join(180)
        assert not producer.is_alive()
        summary = produced["summary"]
        outcome = assert_nothing_lost_nothing_twice(runtime.deployed, sink, [summary], name="runtime SIGKILL")
        print(f"[runtime SIGKILL] killed with {committed_at_kill}/{summary.produced} records committed and "
              f"{received_at_kill} webhooks received; restarted in {restart_s:.1f} s; webhooks received again "
              f"after the restart (duplicates before dedup)={outcome.webhook_duplicates}")
        assert committed_at_kill < summary.produced
        assert outcome.lost == 0
    finally:
        if producer is not None:
            producer.join(180)
        if runtime is not None:
            runtime.stop()
        sink.stop()


def _assert_at_least(value: int, minimum: int) -> None:
    assert value >= minimum
