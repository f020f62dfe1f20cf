"""Zip a function's ``CodeUri`` and a layer's ``ContentUri`` the way ``sam build`` lays them out, for
``CreateFunction`` / ``PublishLayerVersion`` on an emulator (MiniStack, LocalStack).

* a function zip holds the code directory at its root plus what its ``requirements.txt`` installs;
* a layer zip holds the content directory and its ``requirements.txt``'s packages under ``python/``, the path
  Lambda's Python runtime imports layers from (``/opt/python``).

Dependencies are installed with ``pip install --target`` once per (requirements, target) and cached under
``<project>/.aws-sam/emulator-build/``. The target is the interpreter that will run the functions: MiniStack runs
them with its own Python on this machine (:class:`HostTarget`); a LocalStack container runs Lambda's image for
the template's runtime and architecture (:class:`LambdaTarget`: binary wheels for that platform only).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import subprocess
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HostTarget", "LambdaTarget", "PackageBuilder", "PipTarget", "has_requirements"]

log = logging.getLogger(__name__)

BUILD_SUBDIR = Path(".aws-sam") / "emulator-build"
_SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # zip entries without timestamps: the same tree gives the same bytes


@dataclass(frozen=True)
class HostTarget:
    """Install for an interpreter on this machine (the one the emulator runs functions with)."""

    python: str

    def pip_args(self) -> list[str]:
        return [self.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]

    def key(self) -> str:
        version = subprocess.run([self.python, "-c", "import sys, platform; print(sys.version, platform.machine())"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        return f"host {version}"


@dataclass(frozen=True)
class LambdaTarget:
    """Install for Lambda's own image: ``runtime`` (``python3.12``) on ``architecture`` (``arm64``/``x86_64``),
    binary wheels only, as ``sam build`` does without a container."""

    runtime: str
    architecture: str
    python: str = "python3"  # the pip that downloads (any version: the wheels are chosen by the flags)

    def pip_args(self) -> list[str]:
        machine = "aarch64" if self.architecture == "arm64" else "x86_64"
        version = self.runtime.removeprefix("python")
        return [self.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--platform", f"manylinux2014_{machine}", "--implementation", "cp", "--python-version", version,
                "--only-binary=:all:"]

    def key(self) -> str:
        return f"lambda {self.runtime} {self.architecture}"


PipTarget = HostTarget | LambdaTarget


def has_requirements(path: Path) -> bool:
    """True when ``path`` exists and has a line other than blanks and comments."""
    if not path.is_file():
        return False
    return any(line.strip() and not line.lstrip().startswith("#") for line in path.read_text().splitlines())


class PackageBuilder:
    """Builds (and caches) function and layer zips for one pip target."""

    def __init__(self, project_root: str | os.PathLike[str], target: PipTarget) -> None:
        self.root = Path(project_root)
        self.target = target
        self._target_key: str | None = None
        self._zips: dict[tuple[str, Path], bytes] = {}

    def function_zip(self, code_dir: Path) -> bytes:
        """The deployment package of a function whose ``CodeUri`` is ``code_dir``."""
        return self._zip("function", code_dir, prefix="")

    def layer_zip(self, content_dir: Path) -> bytes:
        """The content of a Python layer whose ``ContentUri`` is ``content_dir`` (everything under ``python/``)."""
        return self._zip("layer", content_dir, prefix="python/")

    def _zip(self, kind: str, source: Path, prefix: str) -> bytes:
        source = source.resolve()
        cached = self._zips.get((kind, source))
        if cached is not None:
            return cached
        trees = [source]
        deps = self.dependencies(source / "requirements.txt")
        if deps is not None:
            trees.append(deps)
        data = _zip_trees(trees, prefix)
        self._zips[(kind, source)] = data
        log.info("packaged %s %s: %.1f MB", kind, source.name, len(data) / 1e6)
        return data

    def dependencies(self, requirements: Path) -> Path | None:
        """The directory ``pip install --target`` filled from ``requirements`` (None when it lists nothing)."""
        if not has_requirements(requirements):
            return None
        if self._target_key is None:
            self._target_key = self.target.key()
        digest = hashlib.sha256((self._target_key + "\n" + requirements.read_text()).encode()).hexdigest()[:16]
        directory = self.root / BUILD_SUBDIR / f"{requirements.parent.name}-{digest}"
        done = directory / ".complete"
        if not done.exists():
            directory.mkdir(parents=True, exist_ok=True)
            command = [*self.target.pip_args(), "--target", str(directory), "--upgrade", "-r", str(requirements)]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"pip could not install {requirements}:\n{result.stderr[-3000:]}")
            done.touch()
        return directory


def _files(tree: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for name in sorted(filenames):
            if not name.endswith(_SKIPPED_SUFFIXES) and name != ".complete":
                yield Path(dirpath) / name


def _zip_trees(trees: Iterable[Path], prefix: str) -> bytes:
    """One zip of several directory trees, each at ``prefix``; a path already taken by an earlier tree wins
    (the code itself over an installed package of the same name)."""
    buffer = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for tree in trees:
            for path in _files(tree):
                name = prefix + path.relative_to(tree).as_posix()
                if name in seen:
                    continue
                seen.add(name)
                info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
                info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
