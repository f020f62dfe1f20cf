"""``SchemaRegistryConfig`` of a Kafka mapping, as Lambda applies it before batching (AWS Glue Schema Registry).

For every record, on each attribute named in ``SchemaValidationConfigs`` (``KEY``, ``VALUE``):

1. read the Glue wire format: byte 0 is the header version ``3``, byte 1 the compression (``0`` none,
   ``5`` zlib), bytes 2-17 the schema version UUID, the rest the serialized data;
2. fetch the schema version by that UUID from the registry (cached by UUID: a version never changes);
   a version that is not in the configured registry is ``SCHEMA_NOT_FOUND``;
3. deserialize and validate the data with that schema (JSON Schema or Avro); any failure is
   ``DESERIALIZATION_ERROR``. A record WITHOUT registry framing (a raw producer) fails here too: Lambda
   documents the feature for records produced by registry-aware clients and sends what does not
   deserialize to the on-failure destination (dropped without one);
4. deliver ``EventRecordFormat`` ``JSON`` (the deserialized object as JSON text, base64 like any value) or
   ``SOURCE`` (the data bytes with the framing removed), and add ``valueSchemaMetadata`` /
   ``keySchemaMetadata`` ``{"dataFormat", "schemaId"}``;
5. filter criteria then see the deserialized value (:attr:`Decoded.filter_value`).

Sources: docs/SCHEMA_REGISTRY.md. Confluent registries (an https URI) are not emulated: refused at start.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aws_schema_registry.avro import AvroSchema
from aws_schema_registry.codec import CodecException, decode
from aws_schema_registry.jsonschema import JsonSchema
from aws_schema_registry.schema import Schema

from local_runtime.esm.kafka.events import KafkaMessage
from local_runtime.esm.spec import SchemaRegistrySpec

__all__ = [
    "DESERIALIZATION_ERROR",
    "SCHEMA_NOT_FOUND",
    "Decoded",
    "KafkaSchemaRegistry",
    "RegistryFailure",
    "registry_for",
    "registry_name_of",
]

SCHEMA_NOT_FOUND = "SCHEMA_NOT_FOUND"
DESERIALIZATION_ERROR = "DESERIALIZATION_ERROR"


class RegistryFailure(Exception):
    """A record the registry step refuses; ``reason`` is AWS's code, the message says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Decoded:
    """What the registry step made of a record: the fields to set on it and the value filters see."""

    fields: dict[str, Any]
    filter_value: bytes | None


@dataclass(frozen=True)
class _Version:
    schema: Schema
    data_format: str


def registry_name_of(uri: str) -> str:
    """The registry name of a Glue registry ARN (``arn:aws:glue:<region>:<account>:registry/<name>``)."""
    prefix, sep, name = uri.partition(":registry/")
    if not sep or not prefix.startswith("arn:") or ":glue:" not in prefix or not name:
        raise ValueError(f"not a Glue registry ARN (Confluent registries are not emulated): {uri}")
    return name


class KafkaSchemaRegistry:
    """Validates and deserializes records against one Glue registry (thread-safe; pollers share one)."""

    def __init__(self, spec: SchemaRegistrySpec, glue_client: Any) -> None:
        """``spec`` is the mapping's ``SchemaRegistryConfig`` (its ``registry_uri`` resolved by deploy)."""
        if not spec.registry_uri:
            raise ValueError("SchemaRegistryConfig: the registry ARN is unknown (was the template deployed?)")
        self.spec = spec
        self.registry_name = registry_name_of(spec.registry_uri)
        self._glue = glue_client
        self._versions: dict[UUID, _Version] = {}
        self._lock = threading.Lock()
        self.lookups = 0  # registry calls made (the cache keeps this at one per schema version)

    def apply(self, msg: KafkaMessage) -> Decoded:
        """The record fields replacing ``value``/``key`` (plus their schema metadata), or RegistryFailure."""
        fields: dict[str, Any] = {}
        filter_value = msg.value
        for attribute in self.spec.attributes:
            raw = msg.value if attribute == "VALUE" else msg.key
            if raw is None:
                continue  # a tombstone or a record without key: nothing to validate
            data, version_id, version = self._deserialize(raw)
            name = "value" if attribute == "VALUE" else "key"
            if self.spec.event_record_format == "JSON":
                payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            else:
                payload = data_bytes_of(raw)
            fields[name] = base64.b64encode(payload).decode("ascii")
            fields[f"{name}SchemaMetadata"] = {"dataFormat": version.data_format, "schemaId": str(version_id)}
            if attribute == "VALUE":
                filter_value = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return Decoded(fields, filter_value)

    def _deserialize(self, raw: bytes) -> tuple[Any, UUID, _Version]:
        try:
            data, version_id = decode(raw)
        except (CodecException, ValueError) as exc:
            detail = f"not in the Glue Schema Registry wire format ({exc})"
            raise RegistryFailure(DESERIALIZATION_ERROR, detail) from exc
        version = self._version(version_id)
        try:
            return version.schema.read(data), version_id, version
        except Exception as exc:  # JSON syntax, schema validation, Avro decoding: all are deserialization
            raise RegistryFailure(DESERIALIZATION_ERROR, f"{type(exc).__name__}: {exc}"[:500]) from exc

    def _version(self, version_id: UUID) -> _Version:
        with self._lock:
            cached = self._versions.get(version_id)
        if cached is not None:
            return cached
        self.lookups += 1
        try:
            res = self._glue.get_schema_version(SchemaVersionId=str(version_id))
        except Exception as exc:
            raise RegistryFailure(SCHEMA_NOT_FOUND, f"schema version {version_id}: {exc}") from exc
        registry = str(res.get("SchemaArn", "")).split("/")[-2:-1]
        if registry != [self.registry_name] or res.get("Status") != "AVAILABLE":
            raise RegistryFailure(SCHEMA_NOT_FOUND, f"schema version {version_id} is not available in registry "
                                  f"{self.registry_name}")
        fmt = str(res.get("DataFormat"))
        definition = res["SchemaDefinition"]
        if fmt == "JSON":
            schema: Schema = JsonSchema(definition)
        elif fmt == "AVRO":
            schema = AvroSchema(definition)
        else:  # PROTOBUF needs the generated classes; not emulated
            raise RegistryFailure(DESERIALIZATION_ERROR, f"data format {fmt} is not emulated")
        version = _Version(schema, fmt)
        with self._lock:
            self._versions[version_id] = version
        return version


def data_bytes_of(raw: bytes) -> bytes:
    """The serialized data of a Glue-framed value (header removed, zlib undone)."""
    return decode(raw)[0]


def registry_for(spec: Any, glue_client: Any = None, sibling_client: Any = None) -> KafkaSchemaRegistry | None:
    """The registry step of a mapping ``spec`` (``None`` without ``SchemaRegistryConfig``).

    Without ``glue_client`` one is made on the endpoint and region of ``sibling_client`` (the mapping's
    SQS client): the registry lives on the same embedded AWS as the mapping's destinations.
    """
    config: SchemaRegistrySpec | None = getattr(spec, "schema_registry", None)
    if config is None:
        return None
    if glue_client is None:
        from local_runtime.services import aws

        if sibling_client is None:
            raise ValueError(f"{spec.name}: SchemaRegistryConfig needs a Glue client (or the mapping's SQS client)")
        glue_client = aws.client("glue", sibling_client.meta.endpoint_url, sibling_client.meta.region_name)
    return KafkaSchemaRegistry(config, glue_client)
