"""Which Python runs a function: its ``Runtime`` (``python3.12``...) mapped to an interpreter on this machine.

* ``python3.X`` found on ``PATH`` *and answering as 3.X* (a pyenv shim for a version that is not active
  fails, so it does not count) runs the function;
* if that is the running interpreter's version, ``sys.executable`` runs it instead, so the packages of the
  runtime's own environment (boto3, as Lambda's runtime provides it, and the rest of the venv) are importable;
* when 3.X is not installed, the running interpreter runs it, with a warning once per runtime
  (``python3.12 not found; running with python3.11``);
* a non-Python runtime (``nodejs20.x``, ``provided.al2023``, ...) is a :class:`FunctionError`.

Each interpreter is probed once per process (its version, whether it can import ``awslambdaric``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

from local_runtime.invoke.context import FunctionError

__all__ = ["Interpreter", "current_interpreter", "found_interpreters", "interpreter_for", "requested_version"]

log = logging.getLogger(__name__)

_RUNTIME = re.compile(r"python(\d+)\.(\d+)")
_PROBE = ("import sys, importlib.util; print('%d.%d' % sys.version_info[:2]); "
          "print(importlib.util.find_spec('awslambdaric') is not None)")
_PROBE_TIMEOUT_S = 15.0
_warned: set[str] = set()


@dataclass(frozen=True)
class Interpreter:
    """A Python interpreter a worker can run on."""

    executable: str
    version: tuple[int, int]
    has_runtime_client: bool  # can import awslambdaric (AWS's runtime interface client)

    @property
    def name(self) -> str:
        """``python3.11``."""
        return f"python{self.version[0]}.{self.version[1]}"

    @property
    def is_current(self) -> bool:
        """True for the interpreter running this process (its environment's packages are importable)."""
        return self.executable == sys.executable


@functools.cache
def current_interpreter() -> Interpreter:
    """The interpreter running the local runtime."""
    return Interpreter(sys.executable, (sys.version_info[0], sys.version_info[1]),
                       importlib.util.find_spec("awslambdaric") is not None)


def requested_version(runtime: str) -> tuple[int, int] | None:
    """``python3.12`` -> (3, 12); ``""`` -> None (no preference). Any other runtime is a FunctionError."""
    if not runtime:
        return None
    match = _RUNTIME.fullmatch(runtime)
    if match is None:
        raise FunctionError("Runtime.InvalidRuntime",
                            f"runtime {runtime} cannot run locally: only python3.x functions run here")
    return int(match[1]), int(match[2])


def interpreter_for(runtime: str, *, search_path: str | None = None) -> Interpreter:
    """The interpreter for a function's ``Runtime`` (see the module docstring); ``search_path`` is a PATH."""
    version = requested_version(runtime)
    current = current_interpreter()
    if version is None or version == current.version:
        return current
    name = f"python{version[0]}.{version[1]}"
    found = _probe_on_path(name, search_path)
    if found is not None and found.version == version:
        return found
    if runtime not in _warned:
        _warned.add(runtime)
        log.warning("%s not found; running with %s", name, current.name)
    return current


def found_interpreters(search_path: str | None = None) -> dict[str, Interpreter]:
    """Every ``python3.X`` on ``PATH`` that answers as 3.X, by name, plus the running interpreter."""
    found = {current_interpreter().name: current_interpreter()}
    names: set[str] = set()
    for directory in (search_path if search_path is not None else os.environ.get("PATH", "")).split(os.pathsep):
        with contextlib.suppress(OSError):
            names.update(entry for entry in os.listdir(directory or ".") if _RUNTIME.fullmatch(entry))
    for name in sorted(names):
        if name not in found and (interpreter := _probe_on_path(name, search_path)) is not None \
                and interpreter.name == name:
            found[name] = interpreter
    return found


def _probe_on_path(name: str, search_path: str | None) -> Interpreter | None:
    path = shutil.which(name, path=search_path)
    return _probe(os.path.abspath(path)) if path else None


@functools.cache
def _probe(executable: str) -> Interpreter | None:
    """Ask ``executable`` its version and whether it has awslambdaric (None when it does not answer)."""
    try:
        done = subprocess.run([executable, "-c", _PROBE], capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.split()
    if done.returncode != 0 or len(lines) != 2 or not re.fullmatch(r"\d+\.\d+", lines[0]):
        return None
    major, minor = lines[0].split(".")
    return Interpreter(executable, (int(major), int(minor)), lines[1] == "True")
