"""Fault: poison with the schema registry on (the default path of `logistics up`).

The ingest mappings validate with the Glue registry. Three kinds of record arrive together: simulated events
framed by the registry serializer, the simulator's poison (which the serializer refuses, so it goes out raw
and unframed, as a rogue producer's would) and framed events the registry accepts but the ingest function
refuses (a latitude of 1e-200: valid for the schema, a number DynamoDB cannot store). Every valid event lands,
every bad record is in DeadLetterTable exactly once with its reason (``DESERIALIZATION_ERROR`` for the
registry's refusals, the function's own for the rest), nothing is lost and nothing is notified twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from local_runtime.simulator.noise import OVERSIZED, NoiseShares
from local_runtime.simulator.producer import KafkaSink, Sink
from local_runtime.simulator.registry import with_registry
from local_runtime.simulator.run import simulate
from local_runtime.simulator.world import merchant_records
from logistics import contracts
from tests.e2e.faults.support import Pipeline, assert_nothing_lost_nothing_twice, dead_letter_hashes, eventually

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "events" / "ingest" / "msk.json"


class RawSends:
    """A sink that remembers the sha256 of each value sent as it is (under a RegistrySink: the refused ones)."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.raw: set[str] = set()

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Any) -> None:
        if value[:1] != b"\x03":  # not Glue-framed
            self.raw.add(hashlib.sha256(value).hexdigest())
        self.inner.send(topic, key, value, headers)

    def poll(self, timeout: float = 0.0) -> None:
        self.inner.poll(timeout)

    def flush(self, timeout: float = 30.0) -> int:
        return self.inner.flush(timeout)


def unstorable_event() -> bytes:
    """A shipment event the schema accepts and the ingest function refuses (its latitude DynamoDB cannot store),
    as the compact JSON a registry-enabled mapping delivers it."""
    records = json.loads(SAMPLE.read_text())["records"]
    payload = json.loads(base64.b64decode(next(iter(records.values()))[0]["value"]))
    payload |= {"event_id": f"evt_{uuid.uuid4().hex[:20].upper()}", "shipment_id": f"shp_{uuid.uuid4().hex[:10]}",
                "merchant_id": merchant_records()[0]["merchant_id"]}
    payload["location"]["lat"] = 1e-200
    value = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    with pytest.raises(contracts.ContractError):
        contracts.parse(value)
    return value


def test_poison_with_the_registry_on_is_dead_lettered_with_its_reason(
        moto_endpoint: str, kafka_bootstrap: str, tmp_path: Path) -> None:
    pipeline = Pipeline(moto_endpoint, kafka_bootstrap, tmp_path, schedules=False,
                        parameter_overrides={"KafkaSchemaRegistry": "Enabled"})
    try:
        assert pipeline.registry and pipeline.platform.template is not None
        raw = RawSends(KafkaSink(pipeline.platform.kafka.bootstrap_servers))
        sink = with_registry(raw, pipeline.platform.template, pipeline.platform.client("glue"))
        # Whitespace-padded oversized poison is re-encoded valid by a registry producer (Pipeline.produce).
        shares = NoiseShares(duplicates=0.03, late=0.03, poison=0.12)
        shares = replace(shares, poison_kinds=tuple(k for k in shares.poison_kinds if k[0] != OVERSIZED))
        summary = simulate(sink, rate=None, count=250, seed=71, shares=shares, topics=pipeline.topics,
                           progress=False)
        unstorable = [unstorable_event() for _ in range(3)]
        for value in unstorable:
            sink.send(pipeline.topics[0], json.loads(value)["shipment_id"].encode(), value, [])
        assert sink.flush(30) == 0
        poison = {p.sha256 for p in summary.poison_events}
        refused_by_registry = poison & raw.raw
        assert summary.poison > 0 and refused_by_registry, "no poison reached the registry step"
        assert not {hashlib.sha256(v).hexdigest() for v in unstorable} & raw.raw  # those went out framed

        outcome = assert_nothing_lost_nothing_twice(pipeline, pipeline.sink, [summary], timeout_s=90,
                                                    sent=summary.produced + len(unstorable),
                                                    name="poison with registry")
        expected = poison | {hashlib.sha256(v).hexdigest() for v in unstorable}

        def every_bad_record_filed_once() -> dict[str, str]:
            found = dead_letter_hashes(pipeline)
            assert set(found) == expected, (len(expected - set(found)), len(set(found) - expected))
            return found

        found = eventually(every_bad_record_filed_once, 60)
        letters = pipeline.table("DeadLetterTable").scan(Select="COUNT")["Count"]
        # One letter per bad record (equal poison bytes, like two empty values, are two records): none twice,
        # no valid event among them.
        assert letters == summary.poison + len(unstorable)
        reasons = Counter(found[h].split(":", 1)[0] for h in expected)
        for sha in refused_by_registry:
            assert found[sha].startswith("DESERIALIZATION_ERROR: "), found[sha]
        for sha in expected - refused_by_registry:  # framed, so the function saw them: its own reason
            assert not found[sha].startswith("DESERIALIZATION_ERROR"), found[sha]
        for value in unstorable:
            assert "DynamoDB can store" in found[hashlib.sha256(value).hexdigest()]
        print(f"[poison with registry] reasons={dict(reasons)} refused by the registry={len(refused_by_registry)}")
        assert outcome.poison == summary.poison and outcome.lost == 0
    finally:
        pipeline.close()
