"""`logistics up --env-vars`: the `sam local --env-vars` file format, and how the platform applies it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_runtime.cli.up import read_env_vars
from local_runtime.cloudformation import FunctionSpec
from local_runtime.runtime import _with_environment


def spec(logical_id: str) -> FunctionSpec:
    return FunctionSpec(logical_id=logical_id, name=logical_id.lower(), handler="app.handler", code_uri=None,
                        runtime="python3.12", timeout=3, memory=128, environment={"A": "template", "B": "template"})


def test_per_function_variables_win_over_parameters_which_win_over_the_template(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text(json.dumps({"Parameters": {"A": "all", "N": 1}, "IngestFunction": {"A": "ingest"}}))
    overrides = read_env_vars(path)
    assert _with_environment(spec("IngestFunction"), overrides).environment == {"A": "ingest", "B": "template",
                                                                                 "N": "1"}
    assert _with_environment(spec("NotifyFunction"), overrides).environment == {"A": "all", "B": "template",
                                                                                 "N": "1"}
    assert read_env_vars(None) == {}


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"Fn": "not an object"}'])
def test_a_malformed_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(text)
    with pytest.raises(SystemExit, match="--env-vars"):
        read_env_vars(path)
