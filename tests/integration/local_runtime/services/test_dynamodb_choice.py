"""Which DynamoDB the platform uses: a given endpoint, the AWS endpoint, DynamoDB Local, else moto with a reason."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from local_runtime.runtime import LocalPlatform, PlatformOptions
from local_runtime.services import aws
from local_runtime.services.dynamodb import choose_dynamodb
from local_runtime.services.dynamodb_local import DIR_VARIABLE, ENDPOINT_VARIABLES

ROOT = Path(__file__).resolve().parents[4]
STREAM_TEMPLATE = ROOT / "tests" / "fixtures" / "dynamodb_stream" / "template.yaml"


@pytest.fixture
def no_given_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ENDPOINT_VARIABLES, "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def test_a_given_dynamodb_endpoint_wins_and_nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", raising=False)
    choice = choose_dynamodb(aws_is_external=False)
    assert choice.embedded is None
    assert choice.env() == dict.fromkeys(ENDPOINT_VARIABLES, "http://127.0.0.1:9")
    assert "external" in choice.description


@pytest.mark.usefixtures("no_given_endpoints")
def test_an_external_aws_endpoint_serves_dynamodb_too() -> None:
    choice = choose_dynamodb(aws_is_external=True)
    assert choice.embedded is None and choice.env() == {}


@pytest.mark.usefixtures("no_given_endpoints")
def test_without_java_it_says_why_and_falls_back_to_moto(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no java here
    with caplog.at_level(logging.WARNING, logger="local_runtime.services.dynamodb"):
        choice = choose_dynamodb(aws_is_external=False)
    assert choice.endpoint_url is None and choice.env() == {}
    [line] = [r.getMessage() for r in caplog.records]
    assert "using moto for DynamoDB" in line and "openjdk-17-jre-headless" in line
    with pytest.raises(RuntimeError, match="Java 17"):
        choose_dynamodb(aws_is_external=False, preference="local")


@pytest.mark.usefixtures("no_given_endpoints")
def test_platform_falls_back_to_moto_when_dynamodb_local_is_missing(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.setenv(DIR_VARIABLE, str(tmp_path))  # no jar there
    options = PlatformOptions(template=STREAM_TEMPLATE, config_env=None, dashboard_port=None, schedules=False)
    with LocalPlatform(options) as platform:
        rows = dict(platform.describe())
        assert rows["DynamoDB"].startswith("moto (DynamoDB Local unavailable: DynamoDB Local jar not found")
        tables = aws.client("dynamodb", platform.aws.endpoint_url).list_tables()["TableNames"]
        assert platform.template is not None
        assert platform.template.physical_name("ItemsTable") in tables  # created on moto


@pytest.mark.usefixtures("no_given_endpoints")
def test_platform_uses_dynamodb_local_and_says_where() -> None:
    options = PlatformOptions(template=STREAM_TEMPLATE, config_env=None, dashboard_port=None, schedules=False)
    with LocalPlatform(options) as platform:
        assert platform.dynamodb is not None and platform.dynamodb.embedded is not None
        url = platform.dynamodb.endpoint_url
        assert dict(platform.describe())["DynamoDB"] == f"{url} (DynamoDB Local)"
        assert platform.template is not None
        assert platform.template.physical_name("ItemsTable") in aws.client("dynamodb", url).list_tables()["TableNames"]
        pid = platform.dynamodb.embedded.pid
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped with the platform
