"""template.yaml: `sam validate --lint`, `sam build`, and the structural rules cfn-lint cannot know.

The template is the single source of truth (the local runtime deploys from it), so its tables must
match docs/ARCHITECTURE.md and its policies must stay least-privilege.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
SAMCONFIG = ROOT / "samconfig.toml"

TWINNED_TABLES = ("ShipmentsTable", "TimelineTable", "WarehousesTable", "NotificationsTable")
SINGLE_TABLES = ("MerchantsTable", "DeadLetterTable", "IdempotencyTable")
FUNCTIONS = ("IngestFunction", "NotifyFunction", "DeferredNotifyFunction", "DashboardFunction")
KAFKA_MAPPINGS = {
    "IngestShipmentsMskMapping": ("UseMsk", "ShipmentTopic"),
    "IngestWarehouseMskMapping": ("UseMsk", "WarehouseTopic"),
    "IngestShipmentsSelfManagedMapping": ("UseSelfManagedKafka", "ShipmentTopic"),
    "IngestWarehouseSelfManagedMapping": ("UseSelfManagedKafka", "WarehouseTopic"),
}
# Actions without resource-level permissions: IAM only accepts Resource "*" for them.
STAR_RESOURCE_ACTIONS = frozenset(
    {"ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"}
)


# ------------------------------------------------------------------------------------ loading
class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags into their long (JSON) form."""


def _construct_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def sam_binary() -> str:
    found = shutil.which("sam", path=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        pytest.fail("SAM CLI not found (.venv/bin/sam or PATH): run `make setup`")
    return found


def python312_dir() -> str | None:
    """A directory holding a working python3.12 (sam build checks the runtime's interpreter)."""
    candidates = [shutil.which("python3.12")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")), reverse=True)
    candidates += ["/usr/local/bin/python3.12", "/usr/bin/python3.12"]
    for candidate in filter(None, candidates):
        try:
            ok = subprocess.run([candidate, "--version"], capture_output=True, timeout=30).returncode == 0
        except OSError:
            ok = False
        if ok:
            return str(Path(candidate).parent)
    return None


def sam_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", **extra}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return env


# `sam validate --lint` and `sam build` run per deploy environment in test_deploy_path.py.


# ------------------------------------------------------------------------------------ parameters
def test_parameters_and_conditions(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    expected_defaults = {
        "Stage": "dev",
        "KafkaMode": "MSK",
        "MskClusterArn": "arn:aws:kafka:us-east-1:123456789012:cluster/logistics/"
        "11111111-2222-3333-4444-555555555555-1",
        "KafkaBootstrapServers": "127.0.0.1:9092",
        "KafkaSecretArn": "",
        "ShipmentTopic": "shipment-events",
        "WarehouseTopic": "warehouse-events",
        "IngestConsumerGroupId": "logistics-ingest",
        "GlobalTables": "false",
        "ReplicaRegions": "us-east-1,eu-west-1",
        "TrackingBaseUrl": "http://127.0.0.1:8000/track",
        "AuthMode": "api_key",
        "CognitoUserPoolArn": "",
    }
    for name, default in expected_defaults.items():
        assert params[name]["Default"] == default, name
        pattern = params[name].get("AllowedPattern")
        if pattern:
            assert re.fullmatch(pattern, default), f"{name} default breaks its own AllowedPattern"
    assert params["ReplicaRegions"]["Type"] == "CommaDelimitedList"
    assert set(params["KafkaMode"]["AllowedValues"]) == {"MSK", "SelfManagedKafka"}
    assert set(params["AuthMode"]["AllowedValues"]) == {"api_key", "jwt"}
    for condition in (
        "UseMsk",
        "UseSelfManagedKafka",
        "UseGlobalTables",
        "UseSingleRegionTables",
        "HasKafkaSecret",
        "UseJwtAuth",
    ):
        assert condition in template["Conditions"], condition
    assert template["Conditions"]["UseSingleRegionTables"] == {"Fn::Not": [{"Condition": "UseGlobalTables"}]}
    assert "docs/ARCHITECTURE.md" in json.dumps(template["Metadata"])


# ------------------------------------------------------------------------------------ IAM
def _statements(policy: Any) -> list[dict[str, Any]]:
    """Inline statements of one Policies entry, through Fn::If branches; SAM policy templates and
    managed-policy names (strings) are not ours and carry no statements."""
    if isinstance(policy, dict) and "Fn::If" in policy:
        return [s for branch in policy["Fn::If"][1:] for s in _statements(branch)]
    if isinstance(policy, dict) and "Statement" in policy:
        statements = policy["Statement"]
        return statements if isinstance(statements, list) else [statements]
    return []


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def own_statements(resources: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            found += [(name, s) for p in _as_list(props.get("Policies", [])) for s in _statements(p)]
        elif resource["Type"] in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs = [props.get("PolicyDocument")] + [p.get("PolicyDocument") for p in props.get("Policies", [])]
            found += [(name, s) for d in docs if d for s in _statements(d)]
    return found


def test_own_policies_have_no_wildcard_action_or_resource(resources: dict[str, Any]) -> None:
    statements = own_statements(resources)
    assert len(statements) >= 10, "policy parsing found too few statements"
    for owner, statement in statements:
        actions = _as_list(statement.get("Action", []))
        assert "NotAction" not in statement and "NotResource" not in statement, owner
        for action in actions:
            assert action != "*" and not str(action).endswith(":*"), f"{owner}: wildcard action {action}"
        if "*" in _as_list(statement.get("Resource")):
            extra = set(actions) - STAR_RESOURCE_ACTIONS
            assert not extra, f"{owner}: Resource '*' for actions that can be scoped: {sorted(extra)}"


def test_no_scan_permission_but_the_merchant_list(resources: dict[str, Any]) -> None:
    # The design reads through keys and indexes only; a Scan permission would hide a regression. The one
    # exception: the scheduled estimate check lists the merchants (a row each), and may scan only that table.
    for owner, statement in own_statements(resources):
        if "dynamodb:Scan" not in _as_list(statement.get("Action", [])):
            continue
        assert owner == "EstimateCheckFunction", owner
        assert _as_list(statement["Action"]) == ["dynamodb:Scan"], owner
        assert statement["Resource"] == {"Fn::GetAtt": ["MerchantsTable", "Arn"]}, owner


def test_msk_and_secret_permissions_are_conditional_and_scoped(resources: dict[str, Any]) -> None:
    policies = resources["IngestFunction"]["Properties"]["Policies"]
    conditional = {p["Fn::If"][0]: p["Fn::If"][1] for p in policies if isinstance(p, dict) and "Fn::If" in p}
    assert set(conditional) == {"UseMsk", "HasKafkaSecret", "UseSchemaRegistry", "UseMskSchemaRegistry"}
    glue = json.dumps(conditional["UseSchemaRegistry"])  # the mappings read the registry with this role
    assert "glue:GetSchemaVersion" in glue and '"*"' not in glue
    failure_topic = json.dumps(conditional["UseMskSchemaRegistry"])  # and produce what they give up
    assert "kafka-cluster:WriteData" in failure_topic and "${IngestFailureTopic}" in failure_topic
    msk = json.dumps(conditional["UseMsk"])
    for action in ("kafka-cluster:Connect", "kafka-cluster:ReadData", "kafka-cluster:AlterGroup"):
        assert action in msk
    assert ":topic/${ClusterName}/${ClusterUuid}/${ShipmentTopic}" in msk
    assert ":group/${ClusterName}/${ClusterUuid}/${IngestConsumerGroupId}-${WarehouseTopic}" in msk
    secret = conditional["HasKafkaSecret"]["Statement"][0]
    assert secret["Action"] == "secretsmanager:GetSecretValue"
    assert secret["Resource"] == {"Ref": "KafkaSecretArn"}
    assert {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["IngestFailureQueue", "QueueName"]}}} in policies


# ------------------------------------------------------------------------------------ environment
def documented_env_vars() -> dict[str, set[str]]:
    """`VARIABLE` -> the functions that use it, from the configuration table of ARCHITECTURE.md."""
    text = ARCHITECTURE.read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|\s*`([A-Z0-9_]+)`\s*\|([^|]*)\|", section, flags=re.MULTILINE)
    assert rows, "no environment variables found in docs/ARCHITECTURE.md"
    return {name: {u.strip().split(" ")[0] for u in used.split(",")} for name, used in rows}


USERS = {
    "ingest": ("IngestFunction",),
    "notify": ("NotifyFunction", "DeferredNotifyFunction"),
    "notify-stream": ("NotifyFunction",),  # the stream handler only, not the outbox sweep
    "dashboard": ("DashboardFunction",),
}


def function_env(template: dict[str, Any], function: str) -> dict[str, Any]:
    env = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    own = template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    env.update(own)
    return env


def test_every_documented_env_var_reaches_its_functions(template: dict[str, Any]) -> None:
    for name, users in documented_env_vars().items():
        if name == "AWS_ENDPOINT_URL":  # "unset on AWS": only the local runtime sets it
            for function in FUNCTIONS:
                assert name not in function_env(template, function)
            continue
        for user in users:
            for function in USERS.get(user, ()):
                assert name in function_env(template, function), f"{name} missing for {function}"


def test_table_env_vars_follow_the_global_tables_switch(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    for table, var in zip(
        TWINNED_TABLES, ("SHIPMENTS_TABLE", "TIMELINE_TABLE", "WAREHOUSES_TABLE", "NOTIFICATIONS_TABLE"), strict=True
    ):
        assert env[var] == {"Fn::If": ["UseGlobalTables", {"Ref": f"{table}Global"}, {"Ref": table}]}
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Logistics"
    assert "POWERTOOLS_SERVICE_NAME" in env and "POWERTOOLS_LOG_LEVEL" in env
    dashboard = function_env(template, "DashboardFunction")
    for var in ("AUTH_MODE", "COGNITO_USER_POOL_ARN", "TRACKING_BASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
        assert var in dashboard, var
    assert function_env(template, "IngestFunction")["MAX_EVENT_BYTES"] == "65536"


def test_globals(template: dict[str, Any]) -> None:
    function = template["Globals"]["Function"]
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    assert function["Layers"] == [{"Ref": "SharedLayer"}]
    layer = template["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "src/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12"


def test_handlers_exist(resources: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        props = resources[function]["Properties"]
        module = props["Handler"].rsplit(".", 1)[0]
        path = ROOT / props["CodeUri"] / f"{module.replace('.', '/')}.py"
        assert path.is_file(), f"{function}: handler module {path.relative_to(ROOT)} missing"


# ------------------------------------------------------------------------------------ tables
def documented_tables() -> dict[str, dict[str, Any]]:
    """Key schema, GSIs and TTL of every table section of ARCHITECTURE.md's DynamoDB model."""
    text = ARCHITECTURE.read_text().split("## DynamoDB model", 1)[1].split("\n## ", 1)[0]
    tables = {}
    for section in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        name = section.split()[0]
        heading = section.splitlines()[0]
        keys = dict(re.findall(r"`(\w+)` \((HASH|RANGE)", heading))
        gsis = {
            index: (hash_key, range_key or None)
            for index, hash_key, range_key in re.findall(
                r"GSI `(\w+)`: `(\w+)`(?:\s*\([^)]*\))?(?:\s*/\s*`(\w+)`)?", section
            )
        }
        ttl = re.search(r"TTL `(\w+)`", section)
        tables[name] = {"keys": keys, "gsis": gsis, "ttl": ttl.group(1) if ttl else None}
    return tables


def key_schema(schema: list[dict[str, str]]) -> dict[str, str]:
    return {k["AttributeName"]: k["KeyType"] for k in schema}


def gsi_schema(props: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    result = {}
    for index in props.get("GlobalSecondaryIndexes", []):
        keys = {v: k for k, v in key_schema(index["KeySchema"]).items()}
        result[index["IndexName"]] = (keys["HASH"], keys.get("RANGE"))
    return result


def test_tables_match_architecture(resources: dict[str, Any]) -> None:
    documented = documented_tables()
    assert set(documented) == set(TWINNED_TABLES + SINGLE_TABLES), sorted(documented)
    for name, doc in documented.items():
        variants = [name] + ([f"{name}Global"] if name in TWINNED_TABLES else [])
        for logical_id in variants:
            props = resources[logical_id]["Properties"]
            assert key_schema(props["KeySchema"]) == doc["keys"], logical_id
            assert gsi_schema(props) == doc["gsis"], logical_id
            ttl = props.get("TimeToLiveSpecification")
            assert (ttl["AttributeName"] if ttl and ttl.get("Enabled") else None) == doc["ttl"], logical_id
            assert props["BillingMode"] == "PAY_PER_REQUEST", logical_id
            # Every key attribute is declared exactly once, and nothing else is (CloudFormation rejects extras).
            used = set(doc["keys"]) | {k for pair in doc["gsis"].values() for k in pair if k}
            declared = [a["AttributeName"] for a in props["AttributeDefinitions"]]
            assert sorted(declared) == sorted(used), logical_id
            for index in props.get("GlobalSecondaryIndexes", []):
                if name == "ShipmentsTable":
                    # Keys only: an index entry is ~100 bytes (1 write unit) and is written only when one
                    # of its keys changes; readers BatchGetItem the page's items.
                    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}, index["IndexName"]


def test_shipments_stream_and_recovery(resources: dict[str, Any]) -> None:
    table = resources["ShipmentsTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert resources["ShipmentsTableGlobal"]["Properties"]["StreamSpecification"] == {
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    }
    # Only shipment state wakes the notifier: no stream on the single-region timeline/warehouses.
    for name in ("TimelineTable", "WarehousesTable"):
        assert "StreamSpecification" not in resources[name]["Properties"], name


def test_global_twins(resources: dict[str, Any]) -> None:
    for name in TWINNED_TABLES:
        single, twin = resources[name], resources[f"{name}Global"]
        assert single["Type"] == "AWS::DynamoDB::Table" and single["Condition"] == "UseSingleRegionTables"
        assert twin["Type"] == "AWS::DynamoDB::GlobalTable" and twin["Condition"] == "UseGlobalTables"
        for prop in ("TableName", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"):
            assert single["Properties"].get(prop) == twin["Properties"].get(prop), f"{name}.{prop}"
        # More than one replica requires a stream on a global table.
        assert twin["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        replicas = twin["Properties"]["Replicas"]
        assert replicas[0]["Region"] == {"Fn::Select": [0, {"Ref": "ReplicaRegions"}]}
        for position, replica in enumerate(replicas[1:], start=1):
            _condition, body, otherwise = replica["Fn::If"]
            assert body["Region"] == {"Fn::Select": [position, {"Ref": "ReplicaRegions"}]}
            assert otherwise == {"Ref": "AWS::NoValue"}
    for name in SINGLE_TABLES:
        assert "Condition" not in resources[name], name


def test_replica_regions_must_include_deploy_region(template: dict[str, Any]) -> None:
    rule = template["Rules"]["ReplicaRegionsIncludeDeployRegion"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Contains": [{"Ref": "ReplicaRegions"}, {"Ref": "AWS::Region"}]}


# ------------------------------------------------------------------------------------ triggers
def test_dead_letters_mappings(resources: dict[str, Any]) -> None:
    """The ingest mappings' failure topic is read back (only with the registry) and never is a source topic."""
    for name, condition in (("DeadLettersMskMapping", "UseMskSchemaRegistry"),
                            ("DeadLettersSelfManagedMapping", "UseSelfManagedSchemaRegistry")):
        mapping = resources[name]
        assert mapping["Condition"] == condition
        props = mapping["Properties"]
        assert props["Topics"] == [{"Ref": "IngestFailureTopic"}]
        assert props["FunctionName"] == {"Ref": "DeadLettersFunction"}
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["IngestFailureQueue", "Arn"]}
    assert resources["DeadLettersFunction"]["Condition"] == "UseSchemaRegistry"


def test_kafka_mappings(resources: dict[str, Any]) -> None:
    esms = {n: r for n, r in resources.items() if r["Type"] == "AWS::Lambda::EventSourceMapping"
            and not n.startswith("DeadLetters")}  # the failure topic's reader: test_dead_letters_mappings
    assert set(esms) == set(KAFKA_MAPPINGS)
    group_ids = set()
    for name, (condition, topic) in KAFKA_MAPPINGS.items():
        resource = esms[name]
        props = resource["Properties"]
        assert resource["Condition"] == condition, name
        assert props["FunctionName"] == {"Ref": "IngestFunction"}
        assert props["Topics"] == [{"Ref": topic}], "AWS allows one topic per Kafka mapping"
        assert props["StartingPosition"] == "TRIM_HORIZON"
        assert 1 <= props["BatchSize"] <= 10000
        # Left out on purpose: AWS's Kafka default is 500 ms, and the property only takes whole seconds.
        assert "MaximumBatchingWindowInSeconds" not in props
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["MaximumRetryAttempts"] >= 0
        assert props["BisectBatchOnFunctionError"] is True
        assert "ProvisionedPollerConfig" in props, "Kafka error-handling controls need provisioned mode"
        # With the schema registry: a Kafka topic, whose messages carry the failed records (filed as dead
        # letters by DeadLettersFunction); without it: the SQS queue (coordinates only).
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::If": [
            "UseSchemaRegistry", {"Fn::Sub": "kafka://${IngestFailureTopic}"},
            {"Fn::GetAtt": ["IngestFailureQueue", "Arn"]}]}
        # A filter would silently drop records it cannot match (non-UTF-8, empty): poison must reach
        # the function to be dead-lettered, so the Kafka mappings have none.
        assert "FilterCriteria" not in props
        if condition == "UseMsk":
            assert props["EventSourceArn"] == {"Ref": "MskClusterArn"}
            group = props["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"]
        else:
            assert "EventSourceArn" not in props
            assert props["SelfManagedEventSource"]["Endpoints"]["KafkaBootstrapServers"] == {
                "Fn::Split": [",", {"Ref": "KafkaBootstrapServers"}]
            }
            assert props["SourceAccessConfigurations"]["Fn::If"][0] == "HasKafkaSecret"
            assert props["SourceAccessConfigurations"]["Fn::If"][1][0]["Type"] == "SASL_SCRAM_512_AUTH"
            group = props["SelfManagedKafkaEventSourceConfig"]["ConsumerGroupId"]
        group_ids.add((condition, json.dumps(group)))
    # Lambda requires a consumer group id to be unique per Kafka mapping.
    assert len(group_ids) == len(KAFKA_MAPPINGS)


def test_notify_stream_trigger(resources: dict[str, Any]) -> None:
    event = resources["NotifyFunction"]["Properties"]["Events"]["ShipmentChanges"]
    assert event["Type"] == "DynamoDB"
    props = event["Properties"]
    assert props["Stream"] == {
        "Fn::If": [
            "UseGlobalTables",
            {"Fn::GetAtt": ["ShipmentsTableGlobal", "StreamArn"]},
            {"Fn::GetAtt": ["ShipmentsTable", "StreamArn"]},
        ]
    }
    expected = {
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "MaximumRetryAttempts": 5,
        "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "MaximumRecordAgeInSeconds": 3600,
        "ParallelizationFactor": 1,
    }
    assert {k: props[k] for k in expected} == expected
    assert props["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["NotifyFailureQueue", "Arn"]},
    }
    patterns = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert patterns == [{"eventName": ["INSERT", "MODIFY"]}]


def test_deferred_and_dashboard_triggers(resources: dict[str, Any]) -> None:
    deferred = resources["DeferredNotifyFunction"]["Properties"]
    assert deferred["Handler"] == "deferred.lambda_handler"
    assert deferred["Events"]["Sweep"]["Properties"]["Schedule"] == "rate(1 minute)"
    dashboard = resources["DashboardFunction"]["Properties"]
    assert dashboard["Handler"] == "app.app"
    routes = {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in dashboard["Events"].values()}
    assert routes == {("/", "ANY"), ("/{proxy+}", "ANY")}


def test_queues_and_outputs(template: dict[str, Any], resources: dict[str, Any]) -> None:
    for queue in ("IngestFailureQueue", "NotifyFailureQueue"):
        assert resources[queue]["Type"] == "AWS::SQS::Queue"
        assert resources[queue]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert resources["CustomerNotificationsTopic"]["Type"] == "AWS::SNS::Topic"
    outputs = template["Outputs"]
    for name in (
        "ShipmentsTableName",
        "CustomerNotificationsTopicArn",
        "IngestFailureQueueUrl",
        "NotifyFailureQueueUrl",
        "IngestFunctionArn",
        "DashboardUrl",
    ):
        assert name in outputs, name


# ------------------------------------------------------------------------------------ samconfig
def overrides(text: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', text))


def test_samconfig_environments(template: dict[str, Any]) -> None:
    config = tomllib.loads(SAMCONFIG.read_text())
    assert str(config["version"]) == "0.1"
    params = template["Parameters"]
    for env in ("default", "staging", "prod", "local"):
        assert env in config, env
        for section in config[env].values():
            values = overrides(section.get("parameters", {}).get("parameter_overrides", ""))
            for name, value in values.items():
                assert name in params, f"[{env}] overrides unknown parameter {name}"
                allowed = params[name].get("AllowedValues")
                assert allowed is None or value in allowed, f"[{env}] {name}={value}"
    prod = config["prod"]["deploy"]["parameters"]
    assert prod["confirm_changeset"] is True
    assert set(prod["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    prod_values = overrides(prod["parameter_overrides"])
    assert prod_values["GlobalTables"] == "true" and prod_values["Stage"] == "prod"
    assert prod_values["KafkaMode"] == "MSK"
    assert config["prod"]["global"]["parameters"]["region"] in prod_values["ReplicaRegions"].split(",")
    local = overrides(config["local"]["global"]["parameters"]["parameter_overrides"])
    assert local["KafkaMode"] == "MSK" and local["MskClusterArn"] == params["MskClusterArn"]["Default"]
    assert local["GlobalTables"] == "false"
