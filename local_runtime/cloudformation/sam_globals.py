"""SAM ``Globals``: the ``Function``, ``Api``... sections merged into every resource of that type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["apply_globals"]

_GLOBALS_TARGETS = {
    "Function": "AWS::Serverless::Function",
    "Api": "AWS::Serverless::Api",
    "HttpApi": "AWS::Serverless::HttpApi",
    "SimpleTable": "AWS::Serverless::SimpleTable",
    "StateMachine": "AWS::Serverless::StateMachine",
    "LayerVersion": "AWS::Serverless::LayerVersion",
}


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def _merge_global(global_value: Any, local_value: Any) -> Any:
    """SAM's rules: maps merge (the resource wins per key), lists concatenate (globals first),
    anything else - intrinsics included - is overridden by the resource."""
    if _is_intrinsic(global_value) or _is_intrinsic(local_value):
        return local_value
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_global(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def apply_globals(definition: Mapping[str, Any], globals_: Mapping[str, Any]) -> dict[str, Any]:
    """A resource definition with its type's Globals section merged into its ``Properties``."""
    merged = dict(definition)
    for section, rtype in _GLOBALS_TARGETS.items():
        if definition["Type"] == rtype and isinstance(globals_.get(section), dict):
            merged["Properties"] = _merge_global(globals_[section], definition.get("Properties") or {})
    return merged

