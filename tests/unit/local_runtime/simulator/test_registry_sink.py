"""The simulator frames values with the registry the template's Kafka triggers validate with, and only then."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_runtime.cloudformation import load_template
from local_runtime.simulator.producer import MemorySink, RegistrySink
from local_runtime.simulator.registry import registry_topics, with_registry

ROOT = Path(__file__).resolve().parents[4]


class _Serializer:
    """Frames JSON objects with a marker byte; refuses anything else with a reason."""

    def serialize(self, value: bytes) -> bytes:
        if not value.startswith(b"{"):
            raise ValueError("not JSON")
        return b"\x03" + value


def test_only_the_registry_topics_are_framed_and_refused_values_go_raw() -> None:
    memory = MemorySink()
    sink = RegistrySink(memory, _Serializer(), topics={"shipment-events"})
    sink.send("shipment-events", b"k", b'{"a":1}', [])
    sink.send("shipment-events", b"k", b"poison", [])
    sink.send("other", b"k", b'{"a":1}', [])
    assert [r.value for r in memory.records] == [b'\x03{"a":1}', b"poison", b'{"a":1}']
    assert sink.framed == 1 and sum(sink.refused.values()) == 1


def test_delivery_stats_are_read_through_the_registry_sink() -> None:
    from local_runtime.simulator.producer import KafkaSink
    from local_runtime.simulator.progress import delivery_stats

    kafka = KafkaSink(producer=object())
    assert delivery_stats(RegistrySink(kafka, _Serializer())) is kafka.stats


def test_the_project_template_names_its_registry_only_when_enabled() -> None:
    disabled = load_template(ROOT / "template.yaml", config_env="local",
                             parameter_overrides={"KafkaSchemaRegistry": "Disabled"})
    assert registry_topics(disabled) is None
    sink = MemorySink()
    assert with_registry(sink, disabled, glue_client=None) is sink
    enabled = load_template(ROOT / "template.yaml", config_env="local")  # samconfig's local env: Enabled
    assert registry_topics(enabled) == ("logistics-local-events", frozenset({"shipment-events", "warehouse-events"}))


def test_simulate_refuses_to_guess_when_the_registry_is_unreachable(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from local_runtime.simulator.cli import build_parser, run_from_args

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    args = build_parser().parse_args(["--bootstrap-servers", "127.0.0.1:1", "--count", "1", "--template",
                                      str(ROOT / "template.yaml"), "--parameter-overrides",
                                      "KafkaSchemaRegistry=Enabled", "--state-dir", str(tmp_path)])
    assert run_from_args(args) == 2
