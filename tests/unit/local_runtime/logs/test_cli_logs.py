"""local_runtime.cli.logs without a server: durations, which function, which endpoint and region."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from local_runtime.cli import build_parser
from local_runtime.cli import logs as logs_cli
from local_runtime.cloudformation import load_template
from local_runtime.logs.endpoints import record_endpoints

ROOT = Path(__file__).resolve().parents[4]
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(autouse=True)
def no_endpoint_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LOGS", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(variable, raising=False)


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["logs", *argv])


@pytest.mark.parametrize(("text", "ms"), [("30s", 30_000), ("5m", 300_000), ("2h", 7_200_000), ("1d", 86_400_000)])
def test_since_durations(text: str, ms: int) -> None:
    assert logs_cli.parse_since(text) == ms


@pytest.mark.parametrize("text", ["", "5", "m", "5w", "-5m", "1.5h", "5 minutes"])
def test_since_refuses_other_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        logs_cli.parse_since(text)


def test_options_and_defaults() -> None:
    args = parse("IngestFunction")
    assert (args.function, args.follow, args.since, args.pattern, args.endpoint, args.state_dir) == (
        "IngestFunction", False, 600_000, None, None, ".logistics")
    args = parse("Fn", "--follow", "--since", "30s", "--filter", '"ERROR"', "--endpoint", "http://h:1")
    assert (args.follow, args.since, args.pattern, args.endpoint) == (True, 30_000, '"ERROR"', "http://h:1")


def test_a_logical_id_resolves_to_the_physical_function_name() -> None:
    expected = load_template(TEMPLATE, config_env="local", stack_name="logs-unit").function("IngestFunction").name
    name, region = logs_cli.function_name(parse("IngestFunction", "--template", str(TEMPLATE),
                                                "--stack-name", "logs-unit"))
    assert name == expected and name != "IngestFunction"
    assert region == "us-east-1"


def test_a_physical_name_or_no_template_leaves_the_name_as_given(tmp_path: Path) -> None:
    assert logs_cli.function_name(parse("other-fn", "--template", str(TEMPLATE)))[0] == "other-fn"
    assert logs_cli.function_name(parse("IngestFunction", "--template", str(tmp_path / "none.yaml"))) == (
        "IngestFunction", None)


def test_endpoint_from_the_flag_then_the_environment_then_the_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    assert logs_cli.resolve_target(parse("Fn", "--state-dir", str(state)), None) is None
    record_endpoints(state, "http://127.0.0.1:1111", "eu-west-1")
    target = logs_cli.resolve_target(parse("Fn", "--state-dir", str(state)), "us-east-2")
    assert target is not None
    assert (target.endpoint, target.region) == ("http://127.0.0.1:1111", "eu-west-1")
    assert str(state / "endpoints.json") in target.source

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2222")
    target = logs_cli.resolve_target(parse("Fn", "--state-dir", str(state)), "us-east-2")
    assert target is not None  # the recorded region belongs to another endpoint: the template's applies
    assert (target.endpoint, target.region, target.source) == ("http://127.0.0.1:2222", "us-east-2", "AWS_ENDPOINT_URL")

    target = logs_cli.resolve_target(parse("Fn", "--state-dir", str(state), "--endpoint", "http://127.0.0.1:1111",
                                           "--region", "ap-south-1"), None)
    assert target is not None
    assert (target.endpoint, target.region, target.source) == ("http://127.0.0.1:1111", "ap-south-1", "--endpoint")


def test_without_an_endpoint_it_says_how_to_get_one(tmp_path: Path) -> None:
    err = io.StringIO()
    code = logs_cli.run(parse("Fn", "--state-dir", str(tmp_path), "--template", str(tmp_path / "none.yaml")),
                        out=io.StringIO(), err=err)
    assert code == 1
    assert "logistics up" in err.getvalue() and "--endpoint" in err.getvalue()
