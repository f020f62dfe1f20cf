"""local_runtime.invoke.build: a function's requirements.txt installed into its own build directory (offline:
the package is a wheel made in tmp_path), visible to that function only, reused while unchanged."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import zipfile
from pathlib import Path

import pytest

from local_runtime.cloudformation import FunctionSpec
from local_runtime.invoke import FunctionError, Invoker, ListSink
from local_runtime.invoke.build import BuildError

HANDLER = '''
def handler(event, context):
    try:
        import tinypkg
    except ImportError:
        return {"tinypkg": None}
    return {"tinypkg": tinypkg.VERSION, "file": tinypkg.__file__}
'''


def make_wheel(directory: Path, name: str = "tinypkg", version: str = "0.1.0") -> Path:
    """A pure-Python wheel, written by hand (no build backend, no network)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f'VERSION = "{version}"\n',
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def function_dir(project: Path, name: str, requirements: str | None) -> Path:
    code = project / name
    code.mkdir(parents=True)
    (code / "app.py").write_text(HANDLER, encoding="utf-8")
    if requirements is not None:
        (code / "requirements.txt").write_text(requirements, encoding="utf-8")
    return code


def spec(logical_id: str, code: Path) -> FunctionSpec:
    return FunctionSpec(logical_id=logical_id, name=logical_id, handler="app.handler", code_uri=code,
                        runtime="python3.12", timeout=30, memory=128, environment={})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text("Resources: {}\n", encoding="utf-8")  # marks the project directory
    return tmp_path


def test_requirements_are_installed_for_their_function_only(project: Path) -> None:
    wheels = make_wheel(project / "wheels").parent
    pytest_version = importlib.metadata.version("pytest")
    requirements = (f"# the function's own dependencies\n--no-index\n--find-links {wheels}\n"
                    f"tinypkg==0.1.0  # pinned\npytest=={pytest_version}\n")
    deps = function_dir(project, "deps", requirements)
    plain = function_dir(project, "plain", None)
    with Invoker([spec("Deps", deps), spec("Plain", plain)], region="us-east-1", log_sink=ListSink()) as invoker:
        with_deps = invoker.invoke("Deps", {})
        assert invoker.invoke("Plain", {}) == {"tinypkg": None}
    assert with_deps["tinypkg"] == "0.1.0"
    (build,) = (project / ".aws-sam" / "local-build").iterdir()
    assert build.name.startswith("Deps-") and Path(with_deps["file"]).is_relative_to(build)
    assert not list(build.glob("pytest*")), "pytest is pinned at the venv's version: not installed again"

    marker = build / "tinypkg" / "marker"
    marker.write_text("kept", encoding="utf-8")  # a rebuild would replace the directory
    with Invoker([spec("Deps", deps)], region="us-east-1", log_sink=ListSink()) as invoker:
        assert invoker.invoke("Deps", {})["tinypkg"] == "0.1.0"
    assert marker.read_text(encoding="utf-8") == "kept"


def test_requirements_already_satisfied_need_no_build(project: Path) -> None:
    pinned = f"pytest=={importlib.metadata.version('pytest')}\n# and a comment\n"
    code = function_dir(project, "satisfied", pinned)
    with Invoker([spec("Satisfied", code)], region="us-east-1", log_sink=ListSink()) as invoker:
        assert invoker.invoke("Satisfied", {}) == {"tinypkg": None}
    assert not (project / ".aws-sam").exists()


def test_a_failed_build_names_the_function_and_pips_message(project: Path) -> None:
    code = function_dir(project, "broken", f"--no-index\n--find-links {project}\nno-such-package-xyz==1.0\n")
    with Invoker([spec("Broken", code)], region="us-east-1", log_sink=ListSink()) as invoker, \
            pytest.raises(FunctionError) as info:
        invoker.invoke("Broken", {})
    assert isinstance(info.value, BuildError)
    assert info.value.error_message.startswith("Broken: pip install -r ")
    assert "no-such-package-xyz" in info.value.error_message
    assert "No matching distribution" in info.value.error_message
