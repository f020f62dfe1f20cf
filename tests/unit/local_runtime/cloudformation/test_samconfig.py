"""local_runtime.cloudformation.samconfig: parameter overrides, samconfig environments, declared parameters."""

from __future__ import annotations

import pytest

from local_runtime.cloudformation import TemplateError, load_template, parse_parameter_overrides, read_samconfig
from tests.unit.local_runtime.cloudformation.support import GENERIC, load_generic

# ------------------------------------------------------------------------------------ parameters


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A=1 B=two", {"A": "1", "B": "two"}),
        ('A="with space" B=x=y', {"A": "with space", "B": "x=y"}),
        (["A=1", "B=2 C=3"], {"A": "1", "B": "2", "C": "3"}),
        ("ParameterKey=A,ParameterValue=1 ParameterKey=B,ParameterValue=a,b", {"A": "1", "B": "a,b"}),
        (None, {}),
    ],
)
def test_parse_parameter_overrides(raw, expected) -> None:
    assert parse_parameter_overrides(raw) == expected


def test_parse_parameter_overrides_rejects_a_bare_word() -> None:
    with pytest.raises(TemplateError, match="KEY=VALUE"):
        parse_parameter_overrides("A=1 oops")


def test_samconfig_command_section_wins_over_global() -> None:
    config = read_samconfig(GENERIC.parent / "samconfig.toml", "local")
    assert config["stack_name"] == "generic-local"
    assert config["region"] == "eu-west-1"
    # SAM semantics: [local.deploy.parameters] parameter_overrides replaces the global one entirely.
    assert config["parameter_overrides"] == {"ApiKey": "deploy-key", "WorkerTimeout": "3"}
    assert read_samconfig(GENERIC.parent / "samconfig.toml", "missing-env") == {}
    assert read_samconfig(GENERIC.parent / "no-such-file.toml", "local") == {}


def test_samconfig_env_supplies_stack_region_and_parameters() -> None:
    t = load_template(GENERIC, config_env="local")
    assert (t.context.stack_name, t.context.region) == ("generic-local", "eu-west-1")
    api = t.function("ApiFunction")
    assert api.environment["API_KEY"] == "deploy-key"
    assert api.timeout == 3.0
    assert api.environment["TABLE"] == "generic-local-orders"
    assert api.environment["GREETING"] == "hello from generic-local in eu-west-1 (123456789012) on aws"


def test_explicit_overrides_win_over_samconfig_and_region_argument_wins() -> None:
    t = load_template(
        GENERIC,
        config_env="local",
        parameter_overrides='ApiKey="cli key" TablePrefix=carts',
        region="ap-south-1",
        stack_name="s1",
    )
    env = t.function("ApiFunction").environment
    assert env["API_KEY"] == "cli key"
    assert env["TABLE"] == "s1-carts"
    assert env["ZONE"] == "ap-south-1a"


def test_allowed_values_are_enforced() -> None:
    with pytest.raises(TemplateError, match=r"Parameters\.Stage: value 'qa' is not one of AllowedValues"):
        load_generic(parameter_overrides={"Stage": "qa", "ApiKey": "k"})


def test_missing_parameter_is_an_error_naming_the_path_only_where_it_is_used() -> None:
    t = load_template(GENERIC)  # ApiKey has no Default
    assert t.function("OtherFunction").name == "dev-other"  # does not use ApiKey: loads fine
    with pytest.raises(TemplateError) as info:
        t.function("ApiFunction")
    assert info.value.path == "Resources.ApiFunction.Properties.Environment.Variables.API_KEY.Ref"
    assert "parameter 'ApiKey' has no Default and no override" in str(info.value)


