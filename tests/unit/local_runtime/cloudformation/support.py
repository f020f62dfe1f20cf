"""Shared by the cloudformation tests: the fixture templates and a helper to write a template."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from local_runtime.cloudformation import Template, load_template

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
GENERIC = FIXTURES / "generic" / "template.yaml"
REPO_TEMPLATE = Path(__file__).resolve().parents[4] / "template.yaml"


def write_template(tmp_path: Path, body: str) -> Path:
    """Write ``body`` (dedented) as ``tmp_path/template.yaml``."""
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def load_generic(**kwargs: Any) -> Template:
    """The generic fixture template, with its one required parameter."""
    kwargs.setdefault("parameter_overrides", {"ApiKey": "secret"})
    return load_template(GENERIC, **kwargs)
