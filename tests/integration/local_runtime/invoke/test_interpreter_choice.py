"""local_runtime.invoke.interpreters with real interpreters: a function's Runtime picks python3.X from PATH.

The other-version test needs a second CPython installed beside the running one (pyenv and the like keep
versions side by side); it is skipped when there is none.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

import pytest

from local_runtime.cloudformation import FunctionSpec
from local_runtime.invoke import Invoker, ListSink, found_interpreters
from local_runtime.invoke.interpreters import interpreter_for

STDLIB_ONLY = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "generic" / "stdlib_only"
CURRENT = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def other_python() -> Path | None:
    """An installed CPython 3 of another minor version, next to the running one (None if there is none)."""
    for candidate in sorted(Path(sys.base_prefix).parent.glob("*/bin/python3.*")):
        if re.fullmatch(r"python3\.\d+", candidate.name) and candidate.name != CURRENT \
                and int(candidate.name.split(".")[1]) >= 8 and os.access(candidate, os.X_OK):
            return candidate
    return None


def spec(runtime: str) -> FunctionSpec:
    return FunctionSpec(logical_id="StdlibOnly", name="stdlib-only", handler="app.handler", code_uri=STDLIB_ONLY,
                        runtime=runtime, timeout=30, memory=128, environment={})


def test_the_running_version_runs_on_the_running_interpreter() -> None:
    with Invoker([spec(CURRENT)], region="us-east-1", log_sink=ListSink()) as invoker:
        result = invoker.invoke("StdlibOnly", {"a": 1})
    assert result["executable"] == sys.executable and result["awslambdaric"]
    assert result["echo"] == {"a": 1}


def test_another_version_on_path_runs_the_function_under_the_bootstrap(tmp_path: Path) -> None:
    python = other_python()
    if python is None:
        pytest.skip("no other CPython version installed beside this one")
    (tmp_path / python.name).symlink_to(python)
    search_path = f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"
    assert python.name in found_interpreters(search_path)
    with Invoker([spec(python.name)], region="us-east-1", log_sink=ListSink(), search_path=search_path) as invoker:
        result = invoker.invoke("StdlibOnly", {"b": 2})
    assert f"python{result['version'][0]}.{result['version'][1]}" == python.name
    assert result["echo"] == {"b": 2}
    if not result["awslambdaric"]:  # unless that interpreter has AWS's client, ours runs the function
        assert result["main"].endswith("bootstrap.py")
    assert "site-packages" not in result["pythonpath"]  # the venv's packages are built for another version


def test_a_missing_version_runs_on_the_current_interpreter_with_one_warning(caplog: pytest.LogCaptureFixture,
                                                                          tmp_path: Path) -> None:
    shim = tmp_path / "python3.96"  # like a pyenv shim for a version that is not active: fails
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.96: command not found' >&2\nexit 127\n", encoding="utf-8")
    shim.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="local_runtime.invoke.interpreters"):
        first = interpreter_for("python3.96", search_path=str(tmp_path))
        second = interpreter_for("python3.96", search_path=str(tmp_path))
    assert first == second and first.executable == sys.executable
    assert [r.getMessage() for r in caplog.records] == [f"python3.96 not found; running with {CURRENT}"]
