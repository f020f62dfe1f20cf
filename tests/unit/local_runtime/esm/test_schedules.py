"""Local scheduled triggers: which schedules a template has, the event shape, and that they fire."""

from __future__ import annotations

import time
from pathlib import Path

from local_runtime.cloudformation.template import load_template
from local_runtime.esm.schedules import ScheduleRunner, ScheduleSpec, every_seconds, scheduled_event, schedules

ROOT = Path(__file__).resolve().parents[4]


def test_rate_expressions() -> None:
    assert every_seconds("rate(5 minutes)") == 300
    assert every_seconds("rate(1 hour)") == 3600
    assert every_seconds("rate(2 days)") == 172800
    assert every_seconds("cron(0 12 * * ? *)") is None


def test_the_repository_template_schedules_the_deferred_sender_and_the_estimate_check() -> None:
    found = schedules(load_template(ROOT / "template.yaml", config_env="local"))
    assert [(s.function_logical_id, s.name, s.every_s) for s in found] == [
        ("DeferredNotifyFunction", "Sweep", 60), ("EstimateCheckFunction", "Check", 900)]


def test_runner_fires_eventbridge_shaped_events_on_time() -> None:
    calls: list[tuple[str, dict]] = []
    spec = ScheduleSpec("Tick", "Fn", "rate(1 minute)", 60)
    runner = ScheduleRunner([spec], lambda name, event: calls.append((name, event)), "eu-west-1", "123456789012",
                            speedup=600)  # one minute every 0.1 s
    runner.start()
    time.sleep(0.45)
    runner.stop()
    assert 3 <= len(calls) <= 5
    name, event = calls[0]
    assert name == "Fn"
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["region"] == "eu-west-1"
    assert event["resources"] == ["arn:aws:events:eu-west-1:123456789012:rule/FnTick"]
    assert set(scheduled_event(spec, "r", "a")) == {"version", "id", "detail-type", "source", "account", "time",
                                                    "region", "resources", "detail"}


def test_stop_waits_for_a_run_at_most_its_timeout_and_fires_nothing_after() -> None:
    import threading

    running, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def invoke(name: str, event: dict) -> None:
        calls.append(name)
        running.set()
        release.wait(10)

    specs = [ScheduleSpec("A", "Fa", "rate(1 minute)", 60), ScheduleSpec("B", "Fb", "rate(1 minute)", 60)]
    runner = ScheduleRunner(specs, invoke, "eu-west-1", "123456789012", speedup=6000)
    runner.start()
    assert running.wait(5)
    runner.request_stop()
    started = time.monotonic()
    runner.stop(timeout=0.1)
    assert time.monotonic() - started < 1
    release.set()
    time.sleep(0.1)
    assert calls == ["Fa"]  # Fb was due too, but the stop came first
