"""AWS Glue Schema Registry resources: ``AWS::Glue::Registry``, ``AWS::Glue::Schema`` (its first version) and
``AWS::Glue::SchemaVersion`` (each later version), planned and applied like the other resources.

A version is registered only if it keeps the schema's compatibility mode: moto stores any version, so
for JSON Schema the BACKWARD check (:mod:`.json_compat`) runs here first and a breaking version is refused
with :class:`~local_runtime.deploy.json_compat.IncompatibleSchema` saying which change breaks it.
Re-applying is idempotent: an existing registry, schema or identical version is found, not duplicated.
:func:`delete_registries` is the teardown: it deletes the registries a deployment created (with their schemas).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from local_runtime.cloudformation import DeployedResource, Resource, Template, TemplateError
from local_runtime.deploy.json_compat import IncompatibleSchema, backward_problems

__all__ = ["CreateRegistry", "CreateSchema", "RegisterSchemaVersion", "apply_glue", "delete_registries", "plan_glue"]

_BACKWARD_MODES = ("BACKWARD", "BACKWARD_ALL", "FULL", "FULL_ALL")


@dataclass(frozen=True)
class CreateRegistry:
    """A Glue schema registry."""

    logical_id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class CreateSchema:
    """A Glue schema and its first version."""

    logical_id: str
    registry_name: str
    name: str
    data_format: str
    compatibility: str
    definition: str


@dataclass(frozen=True)
class RegisterSchemaVersion:
    """One more version of a schema (refused when it breaks the schema's compatibility)."""

    logical_id: str
    registry_name: str
    schema_name: str
    definition: str


GlueInstruction = CreateRegistry | CreateSchema | RegisterSchemaVersion


def _registry_name(t: Template, raw: Any, path: str) -> str:
    """The registry a ``Registry`` / ``Schema`` property names: ``{Name}`` or ``{Arn}`` (literal or a reference)."""
    if not isinstance(raw, dict):
        raise TemplateError("expected {Name: ...} or {Arn: ...}", path)
    if "Name" in raw or "RegistryName" in raw:
        return str(t.resolve(raw.get("Name", raw.get("RegistryName")), path))
    arn = str(t.resolve(raw.get("Arn", raw.get("SchemaArn")), path))
    if ":registry/" in arn:
        return arn.split(":registry/", 1)[1]
    if ":schema/" in arn:
        return arn.split(":schema/", 1)[1].split("/", 1)[0]
    raise TemplateError(f"not a Glue registry or schema ARN: {arn}", path)


def _plan_registry(t: Template, res: Resource) -> CreateRegistry:
    return CreateRegistry(res.logical_id, t.physical_name(res.logical_id), str(res.prop("Description") or ""))


def _plan_schema(t: Template, res: Resource) -> CreateSchema:
    path = f"{res.path}.Properties"
    definition = res.prop("SchemaDefinition")
    if not definition:
        raise TemplateError("a Glue schema needs SchemaDefinition", f"{path}.SchemaDefinition")
    return CreateSchema(
        res.logical_id, _registry_name(t, res.raw_properties.get("Registry") or {"Name": "default-registry"},
                                       f"{path}.Registry"),
        t.physical_name(res.logical_id), str(res.prop("DataFormat") or "AVRO"),
        str(res.prop("Compatibility") or "BACKWARD"), str(definition))


def _plan_schema_version(t: Template, res: Resource) -> RegisterSchemaVersion:
    path = f"{res.path}.Properties"
    raw = res.raw_properties.get("Schema") or {}
    if isinstance(raw, dict) and "SchemaName" in raw:
        schema_name = str(t.resolve(raw["SchemaName"], f"{path}.Schema.SchemaName"))
        registry = str(t.resolve(raw.get("RegistryName", "default-registry"), f"{path}.Schema.RegistryName"))
    else:
        target = raw.get("SchemaArn") if isinstance(raw, dict) else None
        lid = target.get("Ref") if isinstance(target, dict) else None
        if isinstance(lid, str) and lid in t.resources and t.resources[lid].type == "AWS::Glue::Schema":
            schema = t.resources[lid]
            schema_name = t.physical_name(lid)
            registry = _registry_name(t, schema.raw_properties.get("Registry") or {"Name": "default-registry"},
                                      f"{schema.path}.Properties.Registry")
        else:
            arn = str(t.resolve(target, f"{path}.Schema.SchemaArn"))
            registry, _, schema_name = arn.split(":schema/", 1)[-1].partition("/")
    return RegisterSchemaVersion(res.logical_id, registry, schema_name, str(res.prop("SchemaDefinition")))


def plan_glue(t: Template, res: Resource) -> GlueInstruction:
    """The instruction for one ``AWS::Glue::Registry`` / ``Schema`` / ``SchemaVersion`` resource."""
    if res.type == "AWS::Glue::Registry":
        return _plan_registry(t, res)
    if res.type == "AWS::Glue::Schema":
        return _plan_schema(t, res)
    return _plan_schema_version(t, res)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _check_compatible(glue: Any, registry: str, schema_name: str, definition: str) -> None:
    schema = glue.get_schema(SchemaId={"RegistryName": registry, "SchemaName": schema_name})
    mode, fmt = schema.get("Compatibility"), schema.get("DataFormat")
    if mode not in _BACKWARD_MODES or fmt != "JSON":
        return
    latest = int(schema.get("LatestSchemaVersion") or 0)
    previous = range(1, latest + 1) if mode.endswith("_ALL") else range(latest, latest + 1)
    new = json.loads(definition)
    for number in previous:
        old = glue.get_schema_version(SchemaId={"RegistryName": registry, "SchemaName": schema_name},
                                      SchemaVersionNumber={"VersionNumber": number})
        if old["SchemaDefinition"] == definition:
            return  # already registered: Glue returns the existing version
        problems = backward_problems(json.loads(old["SchemaDefinition"]), new)
        if problems:
            raise IncompatibleSchema(f"{registry}/{schema_name}: the new version is not {mode} compatible with "
                                     f"version {number}: " + "; ".join(problems))


def apply_glue(glue: Any, ins: GlueInstruction, region: str, account_id: str) -> DeployedResource:
    """Create (or find) what ``ins`` describes; returns what Ref and GetAtt see."""
    if isinstance(ins, CreateRegistry):
        try:
            arn = glue.create_registry(RegistryName=ins.name, Description=ins.description)["RegistryArn"]
        except ClientError as exc:
            if _code(exc) != "AlreadyExistsException":
                raise
            arn = glue.get_registry(RegistryId={"RegistryName": ins.name})["RegistryArn"]
        return DeployedResource(ins.logical_id, "AWS::Glue::Registry", ins.name, arn, {"Arn": arn})
    if isinstance(ins, CreateSchema):
        try:
            res = glue.create_schema(RegistryId={"RegistryName": ins.registry_name}, SchemaName=ins.name,
                                     DataFormat=ins.data_format, Compatibility=ins.compatibility,
                                     SchemaDefinition=ins.definition)
            arn, first = res["SchemaArn"], res["SchemaVersionId"]
        except ClientError as exc:
            if _code(exc) != "AlreadyExistsException":
                raise
            version = _register(glue, ins.registry_name, ins.name, ins.definition)
            arn, first = version["SchemaArn"], version["SchemaVersionId"]
        return DeployedResource(ins.logical_id, "AWS::Glue::Schema", ins.name, arn,
                                {"Arn": arn, "InitialSchemaVersionId": first})
    version = _register(glue, ins.registry_name, ins.schema_name, ins.definition)
    vid = version["SchemaVersionId"]
    return DeployedResource(ins.logical_id, "AWS::Glue::SchemaVersion", vid, vid, {"VersionId": vid})


def _register(glue: Any, registry: str, schema_name: str, definition: str) -> dict[str, Any]:
    schema_id = {"RegistryName": registry, "SchemaName": schema_name}
    try:  # an existing version (a re-run) is found, as Glue itself does, before any compatibility check
        found = glue.get_schema_by_definition(SchemaId=schema_id, SchemaDefinition=definition)
        return {"SchemaArn": found["SchemaArn"], "SchemaVersionId": found["SchemaVersionId"]}
    except ClientError as exc:
        if _code(exc) != "EntityNotFoundException":
            raise
    _check_compatible(glue, registry, schema_name, definition)
    res = glue.register_schema_version(SchemaId={"RegistryName": registry, "SchemaName": schema_name},
                                       SchemaDefinition=definition)
    arn = glue.get_schema(SchemaId={"RegistryName": registry, "SchemaName": schema_name})["SchemaArn"]
    return {"SchemaArn": arn, "SchemaVersionId": res["SchemaVersionId"]}


def delete_registries(glue: Any, resources: Iterable[DeployedResource]) -> list[str]:
    """Delete the ``AWS::Glue::Registry`` resources among ``resources`` (DeleteRegistry takes their schemas and
    versions with them); returns the names deleted. One already gone is skipped.

    The teardown of a stack on a long-lived endpoint: moto allows 10 registries per account, so an endpoint
    that outlives many stacks (a test session's) runs out unless each stack deletes its own.
    """
    deleted: list[str] = []
    for resource in resources:
        if resource.resource_type != "AWS::Glue::Registry":
            continue
        try:
            glue.delete_registry(RegistryId={"RegistryName": resource.physical_id})
        except ClientError as exc:
            if _code(exc) != "EntityNotFoundException":
                raise
            continue
        deleted.append(resource.physical_id)
    return deleted
