"""BACKWARD compatibility of two JSON Schema versions, checked before a version is registered.

moto's Glue registry stores any version without checking compatibility, while AWS Glue refuses a version
that breaks the schema's compatibility mode. BACKWARD means: a consumer using the NEW schema can read data
written with the PREVIOUS one. So every document the old schema accepted must stay acceptable; a change is
refused when (checked recursively through ``properties`` and ``items``):

* a property becomes required that the old schema did not require;
* a property the old schema allowed is gone while the new schema closes the object
  (``additionalProperties: false``), or the object is closed where it was open;
* a ``type`` loses a member, or an ``enum`` loses a value;
* ``maxLength``/``maxItems``/``maximum`` decrease or ``minLength``/``minItems``/``minimum`` increase.

Not checked (listed in docs/SCHEMA_REGISTRY.md): ``const`` (the contracts' ``schema_version``
discriminator changes its const on purpose with each version), ``pattern``, ``allOf``/``if``/``then``
combinators and ``$ref``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["IncompatibleSchema", "backward_problems", "check_backward"]

_UPPER = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")
_LOWER = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")


class IncompatibleSchema(ValueError):
    """A new schema version that breaks the schema's compatibility mode; the message lists why."""


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    value = schema.get("type")
    if value is None:
        return None
    return {value} if isinstance(value, str) else set(value)


def backward_problems(old: Any, new: Any, path: str = "$") -> list[str]:
    """Why data valid under ``old`` may be invalid under ``new`` (empty: BACKWARD compatible)."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return [] if old == new or new is True or new == {} else [f"{path}: schema replaced"]
    problems: list[str] = []
    old_types, new_types = _types(old), _types(new)
    if new_types is not None:
        if old_types is None:
            problems.append(f"{path}: type restricted to {sorted(new_types)}")
        elif lost := old_types - new_types - ({"integer"} if "number" in new_types else set()):
            problems.append(f"{path}: type no longer allows {sorted(lost)}")
    if "enum" in new:
        if "enum" not in old:
            problems.append(f"{path}: enum added")
        elif lost_values := [v for v in old["enum"] if v not in new["enum"]]:
            problems.append(f"{path}: enum no longer allows {lost_values}")
    for key in _UPPER:
        if key in new and (key not in old or new[key] < old[key]):
            problems.append(f"{path}: {key} lowered to {new[key]}")
    for key in _LOWER:
        if key in new and (key not in old or new[key] > old[key]):
            problems.append(f"{path}: {key} raised to {new[key]}")
    if added := sorted(set(new.get("required", ())) - set(old.get("required", ()))):
        problems.append(f"{path}: newly required {added}")
    old_props: Mapping[str, Any] = old.get("properties") or {}
    new_props: Mapping[str, Any] = new.get("properties") or {}
    closed_now = new.get("additionalProperties") is False
    if closed_now and old.get("additionalProperties") is not False:
        problems.append(f"{path}: additionalProperties closed")
    for name, old_sub in old_props.items():
        if name in new_props:
            problems += backward_problems(old_sub, new_props[name], f"{path}.{name}")
        elif closed_now:
            problems.append(f"{path}: property {name!r} removed from a closed object")
    if isinstance(old.get("items"), Mapping) and isinstance(new.get("items"), Mapping):
        problems += backward_problems(old["items"], new["items"], f"{path}[]")
    return problems


def check_backward(old: Any, new: Any, *, name: str = "schema") -> None:
    """Raise :class:`IncompatibleSchema` when ``new`` cannot read what ``old`` wrote."""
    problems = backward_problems(old, new)
    if problems:
        raise IncompatibleSchema(f"{name}: the new version is not BACKWARD compatible: " + "; ".join(problems))
