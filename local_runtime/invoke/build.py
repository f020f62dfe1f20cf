"""A function's own dependencies: its ``requirements.txt``, installed as ``sam build`` would, when needed.

A function whose code directory has a ``requirements.txt`` with real requirement lines gets a build directory
``<project>/.aws-sam/local-build/<LogicalId>-<hash>/`` filled by ``pip install --target`` with the function's
own interpreter; it goes first on the worker's ``PYTHONPATH``, so the function imports its pinned versions
and no other function sees them. The hash covers what is installed and the interpreter's version, so the
directory is reused until either changes.

Requirements the worker's interpreter already has *at exactly the pinned version* (``name==1.2.3``) are left
out: Lambda would load the same code, and this keeps start-up fast and offline (the dashboard's
``chalice==1.34.0`` is the venv's own). A requirement whose environment marker excludes the interpreter is
skipped as pip would. Anything else (ranges, unpinned names, URLs, local paths, ``-r`` includes) goes to pip.
Options (``--find-links``, ``--no-index``...) are passed on with whatever remains.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import InvalidMarker, Marker, default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from local_runtime.invoke.context import FunctionError
from local_runtime.invoke.interpreters import Interpreter

__all__ = ["BuildError", "Requirements", "dependencies_dir", "read_requirements"]

BUILD_SUBDIR = Path(".aws-sam") / "local-build"
_COMPLETE = ".local-build-complete"
_PIP_TIMEOUT_S = 900.0
# Asks an interpreter for its marker environment and the installed version of each name given as JSON.
_PROBE = """
import json, os, platform, sys
import importlib.metadata as metadata
names = json.loads(sys.argv[1])
def version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
env = {"implementation_name": sys.implementation.name, "implementation_version": "%d.%d.%d" % sys.version_info[:3],
       "os_name": os.name, "platform_machine": platform.machine(), "platform_release": platform.release(),
       "platform_system": platform.system(), "platform_version": platform.version(),
       "python_full_version": platform.python_version(), "platform_python_implementation":
       platform.python_implementation(), "python_version": "%d.%d" % sys.version_info[:2], "sys_platform": sys.platform}
print(json.dumps({"env": env, "versions": {n: version(n) for n in names}}))
"""

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


class BuildError(FunctionError):
    """A function's dependencies could not be installed (names the function, carries pip's message)."""

    def __init__(self, message: str) -> None:
        super().__init__("Runtime.BuildError", message)


@dataclass(frozen=True)
class Requirements:
    """A ``requirements.txt`` split into option lines and requirement lines (comments dropped)."""

    options: tuple[str, ...]
    requirements: tuple[str, ...]


def read_requirements(path: Path) -> Requirements:
    """The options and requirements of ``path``; ``-r``/``-c`` includes made absolute (pip runs elsewhere)."""
    options: list[str] = []
    requirements: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line.startswith("-"):
            flag, _, value = line.partition(" ")
            if flag in ("-r", "--requirement", "-c", "--constraint") and value.strip():
                line = f"{flag} {(path.parent / value.strip()).resolve()}"
            options.append(line)
        else:
            requirements.append(line)
    return Requirements(tuple(options), tuple(requirements))


def dependencies_dir(logical_id: str, code_dir: Path | None, interpreter: Interpreter, build_root: Path) -> Path | None:
    """The build directory of a function's dependencies, built now if needed; None when it needs none.

    Raises :class:`BuildError` when pip fails. Safe to call from several threads and processes at once.
    """
    if code_dir is None or not (code_dir / "requirements.txt").is_file():
        return None
    wanted = read_requirements(code_dir / "requirements.txt")
    includes = any(o.split(" ", 1)[0] in ("-r", "--requirement") for o in wanted.options)
    if not wanted.requirements and not includes:
        return None
    missing = _unsatisfied(wanted.requirements, interpreter)
    if not missing and not includes:
        return None
    text = "\n".join((*wanted.options, *missing)) + "\n"
    digest = hashlib.sha256(f"{interpreter.version}\n{text}".encode()).hexdigest()[:16]
    target = build_root / BUILD_SUBDIR / f"{logical_id}-{digest}"
    with _lock_for(target):
        if not (target / _COMPLETE).is_file():
            _pip_install(logical_id, code_dir, interpreter, text, target)
    return target


def _unsatisfied(lines: Iterable[str], interpreter: Interpreter) -> list[str]:
    """The requirement lines pip still has to install into the build directory."""
    parsed: list[tuple[str, Requirement | None]] = []
    for line in lines:
        try:
            parsed.append((line, Requirement(line)))
        except InvalidRequirement:
            parsed.append((line, None))  # a URL or a path: pip decides
    names = sorted({canonicalize_name(req.name) for _, req in parsed if req is not None})
    probe = _probe(interpreter.executable, tuple(names)) if names else {"env": {}, "versions": {}}
    missing = []
    for line, req in parsed:
        if req is None:
            missing.append(line)
            continue
        if req.marker is not None and not _marker_holds(req.marker, probe["env"]):
            continue
        if not _pinned_and_installed(req, probe["versions"].get(canonicalize_name(req.name))):
            missing.append(line)
    return missing


def _marker_holds(marker: Marker, env: Mapping[str, str]) -> bool:
    try:
        return marker.evaluate(dict(env))
    except (InvalidMarker, KeyError, ValueError):
        return True  # undecidable here: let pip decide


def _pinned_and_installed(req: Requirement, installed: str | None) -> bool:
    specs = list(req.specifier)
    if installed is None or len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        return False
    return req.specifier.contains(installed, prereleases=True)


def _probe(executable: str, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    if executable == sys.executable:  # this process's own environment: no need to ask another process
        env = {k: str(v) for k, v in default_environment().items()}
        return {"env": env, "versions": {n: v for n in names if (v := _version(n))}}
    try:
        done = subprocess.run([executable, "-c", _PROBE, json.dumps(list(names))], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL, check=True)
        return json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return {"env": {}, "versions": {}}  # nothing known: everything goes to pip


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _pip_install(logical_id: str, code_dir: Path, interpreter: Interpreter, requirements: str, target: Path) -> None:
    """``pip install --target`` into a fresh directory, renamed into place once complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        (staging / "requirements.txt").write_text(requirements, encoding="utf-8")
        command = [interpreter.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                   "--quiet", "--target", str(staging), "-r", str(staging / "requirements.txt")]
        try:
            done = subprocess.run(command, cwd=code_dir, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL, env={**os.environ, "PIP_REQUIRE_VIRTUALENV": "0"},
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BuildError(f"{logical_id}: pip install -r {code_dir / 'requirements.txt'} failed: {exc}") from exc
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip()[-4000:]
            raise BuildError(f"{logical_id}: pip install -r {code_dir / 'requirements.txt'} failed "
                             f"(exit {done.returncode}):\n{output}")
        (staging / _COMPLETE).write_text(requirements, encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:
            if not (target / _COMPLETE).is_file():  # not another process's finished build: ours must win
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())
