"""YAML with CloudFormation's short-form tags: ``!Sub x`` is read as its long form ``{"Fn::Sub": x}``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from local_runtime.cloudformation.errors import TemplateError

__all__ = ["read_yaml"]

class _CfnLoader(yaml.SafeLoader):
    """SafeLoader + CloudFormation tags. Dates stay strings (``AWSTemplateFormatVersion: 2010-09-09``)."""


_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "GetAtt Sub Join If Equals Not And Or Select Split FindInMap ImportValue Base64 GetAZs "
            "Cidr Transform Length ToJsonString Contains EachMemberEquals EachMemberIn RefAll ValueOf ValueOfAll"
        ).split()
    },
}


def _tag_constructor(key: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if key == "Fn::GetAtt" and isinstance(value, str):
            # "Res.Attr.Nested" -> ["Res", "Attr.Nested"], as CloudFormation splits at the first dot
            value = value.split(".", 1)
        return {key: value}

    return construct


def _unknown_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    raise TemplateError(f"unknown YAML tag !{suffix} at line {node.start_mark.line + 1}")


for _short, _long in _SHORT_TAGS.items():
    _CfnLoader.add_constructor(f"!{_short}", _tag_constructor(_long))
_CfnLoader.add_multi_constructor("!", _unknown_tag)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a template file (YAML or JSON); its top level must be a mapping."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"cannot parse {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{path} is not a template (top level must be a mapping)")
    return data
