"""Parameter values: SAM's ``parameter_overrides`` syntax, ``samconfig`` environments, and the template's
declared ``Parameters`` (defaults, ``AllowedValues``, ``AllowedPattern``)."""

from __future__ import annotations

import logging
import os
import re
import shlex
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from local_runtime.cloudformation.errors import TemplateError
from local_runtime.cloudformation.values import to_str

__all__ = ["parameter_values", "parse_parameter_overrides", "read_samconfig"]

log = logging.getLogger(__name__)

_KEY_VALUE_LONG = re.compile(r"ParameterKey=([^,]+),ParameterValue=(.*)", re.DOTALL)


def parse_parameter_overrides(value: str | Iterable[str] | None) -> dict[str, str]:
    """Parse SAM's ``parameter_overrides``: ``"K=V K2='v 2'"``, a list of such strings, or the
    ``ParameterKey=K,ParameterValue=V`` form. Values keep everything after the first ``=``."""
    if value is None:
        return {}
    chunks = [value] if isinstance(value, str) else list(value)
    out: dict[str, str] = {}
    for chunk in chunks:
        for token in shlex.split(chunk):
            if m := _KEY_VALUE_LONG.fullmatch(token):
                out[m.group(1)] = m.group(2)
            elif "=" in token:
                key, val = token.split("=", 1)
                out[key] = val
            else:
                raise TemplateError(f"parameter override {token!r} is not KEY=VALUE")
    return out


def read_samconfig(path: str | os.PathLike[str], config_env: str = "default",
                   commands: Iterable[str] = ("deploy",)) -> dict[str, Any]:
    """Read one environment of a ``samconfig.toml`` (or ``.yaml``) file.

    Returns the merged ``parameters`` tables of ``[<env>.global.parameters]`` and, overriding them, of
    each command in ``commands`` (later ones win), with ``parameter_overrides`` already parsed to a dict.
    A missing file or environment yields ``{}``.
    """
    file = Path(path)
    if not file.is_file():
        return {}
    text = file.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if file.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot parse {file}: {exc}") from exc
    env = (data or {}).get(config_env)
    if not isinstance(env, dict):
        log.info("samconfig %s has no environment %r", file, config_env)
        return {}
    merged: dict[str, Any] = {}
    for command in ("global", *commands):
        section = env.get(command, {})
        params = section.get("parameters", {}) if isinstance(section, dict) else {}
        merged.update(params)
    if "parameter_overrides" in merged:
        merged["parameter_overrides"] = parse_parameter_overrides(merged["parameter_overrides"])
    return merged



def parameter_values(decls: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str | None]:
    """Each declared parameter's value: override, else Default, else ``None`` (an error only where used)."""
    values: dict[str, str | None] = {}
    for name, decl in decls.items():
        path = f"Parameters.{name}"
        decl = decl or {}
        if name in overrides:
            value: Any = overrides[name]
        elif "Default" in decl:
            value = decl["Default"]
            if isinstance(value, list):  # a CommaDelimitedList default written as a YAML list
                value = ",".join(str(v) for v in value)
        else:
            values[name] = None  # an error only if something refers to it
            continue
        value = to_str(value, path)
        allowed = decl.get("AllowedValues")
        if allowed and value not in [to_str(a, path) for a in allowed]:
            raise TemplateError(f"value {value!r} is not one of AllowedValues {allowed}", path)
        pattern = decl.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise TemplateError(f"value {value!r} does not match AllowedPattern {pattern!r}", path)
        values[name] = value
    unknown = sorted(set(overrides) - set(decls))
    if unknown:
        # sam deploy rejects these; locally a shared samconfig may carry extras, so only warn.
        log.warning("parameter overrides not declared in the template, ignored: %s", ", ".join(unknown))
    return values

