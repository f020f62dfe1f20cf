"""local_runtime.invoke.interpreters: Runtime names, and interpreters found on a PATH (fake ones here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from local_runtime.invoke.context import FunctionError
from local_runtime.invoke.interpreters import (
    current_interpreter,
    found_interpreters,
    interpreter_for,
    requested_version,
)


def fake_python(directory: Path, name: str, answers: str) -> Path:
    """A script named like an interpreter that answers the probe with ``answers``."""
    script = directory / name
    script.write_text(f"#!/bin/sh\nprintf '{answers}'\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def test_runtime_names() -> None:
    assert requested_version("python3.12") == (3, 12)
    assert requested_version("") is None
    for runtime in ("nodejs20.x", "provided.al2023", "java21", "python3"):
        with pytest.raises(FunctionError, match=runtime):
            requested_version(runtime)


def test_the_running_version_is_the_running_interpreter(tmp_path: Path) -> None:
    name = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    fake_python(tmp_path, name, f"{sys.version_info[0]}.{sys.version_info[1]}\\nFalse\\n")
    chosen = interpreter_for(name, search_path=str(tmp_path))
    assert chosen == current_interpreter() and chosen.is_current and chosen.executable == sys.executable


def test_an_interpreter_on_the_path_answering_its_version_is_chosen(tmp_path: Path) -> None:
    script = fake_python(tmp_path, "python3.95", "3.95\\nTrue\\n")
    fake_python(tmp_path, "python3.94", "3.93\\nFalse\\n")  # lies about its version: not python3.94
    chosen = interpreter_for("python3.95", search_path=str(tmp_path))
    assert (chosen.executable, chosen.version, chosen.has_runtime_client) == (str(script), (3, 95), True)
    assert not chosen.is_current and chosen.name == "python3.95"
    found = found_interpreters(str(tmp_path))
    assert set(found) == {"python3.95", current_interpreter().name}
