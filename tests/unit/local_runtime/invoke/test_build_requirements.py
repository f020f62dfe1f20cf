"""local_runtime.invoke.build: reading requirements.txt and deciding what still has to be installed."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

from local_runtime.invoke.build import dependencies_dir, read_requirements
from local_runtime.invoke.interpreters import current_interpreter

PYTEST = importlib.metadata.version("pytest")


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "requirements.txt").write_text(text, encoding="utf-8")
    return tmp_path / "requirements.txt"


def test_comments_options_and_includes(tmp_path: Path) -> None:
    path = write(tmp_path, "# shared deps come from a layer\n\n--no-index\n-r more.txt\nrequests==2.0 # why\n"
                           "  # indented comment\n./local_pkg\n")
    wanted = read_requirements(path)
    assert wanted.options == ("--no-index", f"-r {(tmp_path / 'more.txt').resolve()}")
    assert wanted.requirements == ("requests==2.0", "./local_pkg")


def test_only_comments_means_no_build(tmp_path: Path) -> None:
    write(tmp_path, "# Shared dependencies come from the SharedLayer\n")
    assert dependencies_dir("F", tmp_path, current_interpreter(), tmp_path) is None


def test_pins_installed_here_and_markers_that_exclude_this_python_need_no_build(tmp_path: Path) -> None:
    other = "sys_platform == 'no-such-platform'"
    write(tmp_path, f"pytest=={PYTEST}\nPyTest[testing]=={PYTEST}\nnot-installed-anywhere==1.0 ; {other}\n")
    assert dependencies_dir("F", tmp_path, current_interpreter(), tmp_path) is None


def test_what_is_not_an_installed_pin_goes_to_pip(tmp_path: Path, monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr("local_runtime.invoke.build._pip_install",
                        lambda logical_id, code, interpreter, text, target: calls.append(text))
    write(tmp_path, f"--no-index\npytest=={PYTEST}\npytest>=1\npytest\nnot-installed-anywhere==1.0\n"
                    f"pytest==0.0.1 ; python_version >= '{sys.version_info[0]}'\n")
    target = dependencies_dir("Fn", tmp_path, current_interpreter(), tmp_path / "project")
    assert calls == ["--no-index\npytest>=1\npytest\nnot-installed-anywhere==1.0\n"
                     f"pytest==0.0.1 ; python_version >= '{sys.version_info[0]}'\n"]
    assert target is not None and target.parent == tmp_path / "project" / ".aws-sam" / "local-build"
    assert target.name.startswith("Fn-")
    write(tmp_path, "pytest>=2\n")  # another set of requirements: another directory
    assert dependencies_dir("Fn", tmp_path, current_interpreter(), tmp_path / "project") != target
