"""Producer side of the Glue Schema Registry: an event -> Glue wire format bytes, or a refusal with the reason.

The schema is the event's contract (``shipment-event`` / ``warehouse-event`` at its ``schema_version``),
looked up in the registry by its definition (the compact JSON the template registers) through the PyPI
package ``aws-glue-schema-registry``; the value is validated against it before anything is produced. The
version id is cached per definition, so only the first event of each contract version calls the registry.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from uuid import UUID

from aws_schema_registry import SchemaRegistryClient
from aws_schema_registry.codec import encode
from aws_schema_registry.jsonschema import JsonSchema
from aws_schema_registry.schema import ValidationError

from logistics import contracts

__all__ = ["GLUE_HEADER_VERSION", "RegistryRefusal", "RegistrySerializer", "unframe"]

GLUE_HEADER_VERSION = 3  # byte 0 of a Glue-framed value; JSON text never starts with it


class RegistryRefusal(ValueError):
    """An event the producer refuses to send: it breaks its contract, or its schema is not registered."""


def unframe(value: bytes) -> bytes:
    """The data of a Glue-framed value (header and compression removed); other values unchanged."""
    if value[:1] != bytes([GLUE_HEADER_VERSION]):
        return value
    from aws_schema_registry.codec import decode

    return decode(value)[0]


class RegistrySerializer:
    """Serializes events of the project's contracts for one Glue registry."""

    def __init__(self, glue_client: Any, registry_name: str, *, compress: bool = False) -> None:
        self._client = SchemaRegistryClient(glue_client, registry_name=registry_name)
        self._compress = compress
        self._schemas: dict[tuple[str, int], tuple[JsonSchema, UUID]] = {}
        self._lock = threading.Lock()

    def serialize(self, event: dict[str, Any] | bytes) -> bytes:
        """The Glue-framed value of ``event`` (a payload or its JSON bytes); raises RegistryRefusal."""
        payload = event
        if isinstance(event, bytes):
            try:
                payload = json.loads(event)
            except ValueError as exc:
                raise RegistryRefusal(f"not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise RegistryRefusal("an event is a JSON object")
        try:
            kind = contracts.kind_of(payload)
        except contracts.ContractError as exc:
            raise RegistryRefusal(str(exc)) from exc
        version = payload.get("schema_version")
        if not isinstance(version, int) or version not in contracts.versions(kind):
            raise RegistryRefusal(f"schema_version {version!r} is not a {kind}-event version")
        schema, version_id = self._schema(kind, version)
        try:
            data = schema.write(payload)
        except ValidationError as exc:
            raise RegistryRefusal(f"{kind}-event v{version}: {exc}") from exc
        return encode(data, version_id, compression=self._compress)

    def _schema(self, kind: str, version: int) -> tuple[JsonSchema, UUID]:
        with self._lock:
            cached = self._schemas.get((kind, version))
        if cached is not None:
            return cached
        schema = JsonSchema(contracts.schema(kind, version))
        try:
            registered = self._client.get_schema_by_definition(str(schema), f"{kind}-event")
        except Exception as exc:
            raise RegistryRefusal(f"{kind}-event v{version} is not registered in {self._client.registry_name}: "
                                  f"{exc.__cause__ or exc}") from exc
        with self._lock:
            self._schemas[(kind, version)] = (schema, registered.version_id)
        return schema, registered.version_id
