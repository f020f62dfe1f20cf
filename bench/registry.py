"""What the schema registry costs per event: the trigger's Glue deserialization (unframe, cached schema,
validate, JSON out) next to the in-function contract validation it stands in front of.

``python -m bench.registry [events]``; the registry runs on moto in-process (the lookup is cached, so the
figure is the per-record work, not the network).
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid
from pathlib import Path

import boto3
from moto import mock_aws

from bench.results import merge
from local_runtime.deploy.glue import CreateRegistry, CreateSchema, apply_glue
from local_runtime.esm.kafka.events import KafkaMessage
from local_runtime.esm.kafka.schema_registry import KafkaSchemaRegistry
from local_runtime.esm.spec import SchemaRegistrySpec
from logistics import contracts
from logistics.adapters.registry_serializer import RegistrySerializer

SAMPLE = Path(__file__).resolve().parents[1] / "events" / "ingest" / "msk.json"


def _payloads(count: int) -> list[dict]:
    records = json.loads(SAMPLE.read_text())["records"]
    base = json.loads(base64.b64decode(next(iter(records.values()))[0]["value"]))
    return [base | {"event_id": f"e-{uuid.uuid4().hex[:12]}"} for _ in range(count)]


def main(argv: list[str]) -> dict[str, float | int]:
    count = int(argv[0]) if argv else 5000
    with mock_aws():
        glue = boto3.client("glue", region_name="us-east-1")
        arn = apply_glue(glue, CreateRegistry("R", "bench"), "us-east-1", "123456789012").ref
        definition = json.dumps(contracts.schema("shipment", 1), separators=(",", ":"))
        apply_glue(glue, CreateSchema("S", "bench", "shipment-event", "JSON", "BACKWARD", definition),
                   "us-east-1", "123456789012")
        serializer = RegistrySerializer(glue, "bench")
        framed = [serializer.serialize(p) for p in _payloads(count)]
        registry = KafkaSchemaRegistry(SchemaRegistrySpec(arn, "JSON", ("VALUE",)), glue)
        messages = [KafkaMessage("t", 0, i, 0, value=v) for i, v in enumerate(framed)]
        registry.apply(messages[0])  # the one registry lookup
        started = time.perf_counter()
        for m in messages:
            registry.apply(m)
        registry_us = (time.perf_counter() - started) / count * 1e6
    raw = [json.dumps(p).encode() for p in _payloads(count)]
    started = time.perf_counter()
    for value in raw:
        contracts.validate(contracts.parse(value))
    function_us = (time.perf_counter() - started) / count * 1e6
    print(f"[registry] per event: trigger deserialization {registry_us:.1f} us, "
          f"in-function parse+validate {function_us:.1f} us ({count} events)")
    figures = {"events": count, "registry_deserialize_us": round(registry_us, 1),
               "function_validate_us": round(function_us, 1)}
    merge("registry", figures)  # bench/results/latest.json, beside the other benchmarks
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
