"""local_runtime.cloudformation.template against fixture templates (tests/fixtures) and the repo's template.yaml."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from local_runtime.deploy.deployer import kafka_topics
from local_runtime.esm.spec import OnFailureDestination
from local_runtime.cloudformation.template import (
    DeployedResource,
    TemplateError,
    UnresolvedAttributeError,
    load_template,
    parse_parameter_overrides,
    read_samconfig,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
GENERIC = FIXTURES / "generic" / "template.yaml"
REPO_TEMPLATE = Path(__file__).resolve().parents[4] / "template.yaml"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def _generic(**kwargs):
    kwargs.setdefault("parameter_overrides", {"ApiKey": "secret"})
    return load_template(GENERIC, **kwargs)


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
        _generic(parameter_overrides={"Stage": "qa", "ApiKey": "k"})


def test_missing_parameter_is_an_error_naming_the_path_only_where_it_is_used() -> None:
    t = load_template(GENERIC)  # ApiKey has no Default
    assert t.function("OtherFunction").name == "dev-other"  # does not use ApiKey: loads fine
    with pytest.raises(TemplateError) as info:
        t.function("ApiFunction")
    assert info.value.path == "Resources.ApiFunction.Properties.Environment.Variables.API_KEY.Ref"
    assert "parameter 'ApiKey' has no Default and no override" in str(info.value)


# ------------------------------------------------------------------------------------ intrinsics


def test_sub_join_select_split_findinmap_and_pseudo_parameters() -> None:
    t = _generic(stack_name="shop", region="us-west-2", account_id="000000000000")
    env = t.function("ApiFunction").environment
    assert env["GREETING"] == "hello from shop in us-west-2 (000000000000) on aws"
    assert env["LITERAL"] == "${NotAVariable}"
    assert env["SUB_LIST_FORM"] == "orders-subnet-b.amazonaws.com"
    assert env["JOINED"] == "subnet-a,subnet-b,subnet-c"
    assert env["SPLIT_SELECT"] == "c"
    assert env["BASE64"] == "aGk="
    assert env["ZONE"] == "us-west-2a"
    assert env["LOG_LEVEL"] == "DEBUG"
    assert env["ENV_KIND"] == "pre-prod"
    assert "PROD_ONLY" not in env  # !If [IsProd, ..., AWS::NoValue] removes the key
    assert env["TABLE"] == "shop-orders"
    assert env["TABLE_ARN"] == "arn:aws:dynamodb:us-west-2:000000000000:table/shop-orders"
    assert env["TOPIC_ARN"] == "arn:aws:sns:us-west-2:000000000000:shop-alerts"
    assert env["QUEUE_URL"] == "https://sqs.us-west-2.amazonaws.com/000000000000/shop-WorkQueue"
    assert env["BUCKET"] == "shop-artifactsbucket"  # generated bucket names are lower case
    assert env["SELF_NAME"] == t.function("ApiFunction").name == "shop-ApiFunction"


def test_globals_merge_into_functions() -> None:
    t = _generic()
    api, other = t.function("ApiFunction"), t.function("dev-other")
    assert (api.runtime, api.memory, api.handler) == ("python3.12", 256, "app.handler")
    assert api.timeout == 2.0 and other.timeout == 10.0  # the function's Timeout wins over Globals
    assert api.environment["SHARED"] == other.environment["SHARED"] == "from-globals"
    assert (api.environment["OVERRIDDEN"], other.environment["OVERRIDDEN"]) == ("from-function", "from-globals")
    # Layers concatenate, Globals first; local layers become directories, ARNs stay ARNs.
    layers = GENERIC.parent / "layers"
    assert api.layers == ((layers / "plain" / "python").resolve(), (layers / "built").resolve())
    assert api.layer_arns == (
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7",
    )
    assert other.layers == api.layers
    assert api.code_uri == (GENERIC.parent / "src").resolve()


def test_inline_code_function() -> None:
    inline = _generic().function("InlineFunction")
    assert inline.code_uri is None
    assert inline.inline_code is not None and "def handler" in inline.inline_code
    assert inline.environment == {}  # Globals apply to AWS::Serverless::Function only


def test_condition_false_drops_resources_and_outputs() -> None:
    t = _generic()
    assert t.conditions["IsProd"] is False
    assert "ProdAuditTable" not in t.resources and t.dropped["ProdAuditTable"] == "IsProd"
    assert "AlertSubscription" not in t.resources
    assert "AuditTable" not in t.outputs()
    prod = _generic(parameter_overrides={"Stage": "prod", "AlertEmail": "ops@example.com", "ApiKey": "k"})
    assert {"ProdAuditTable", "AlertSubscription"} <= prod.resources.keys()
    assert prod.function("ApiFunction").environment["PROD_ONLY"] == "yes"
    assert prod.outputs()["AuditTable"] == "local-ProdAuditTable"


def test_rules_are_checked() -> None:
    with pytest.raises(TemplateError, match=r"Rules\.ProdNeedsAlerts.*prod needs AlertEmail"):
        _generic(parameter_overrides={"Stage": "prod", "ApiKey": "k"})


def test_resolved_properties_and_outputs() -> None:
    t = _generic()
    queue = t.resources["WorkQueue"]
    assert queue.type == "AWS::SQS::Queue" and queue.condition is None
    assert queue.properties["RedrivePolicy"]["deadLetterTargetArn"] == (
        "arn:aws:sqs:us-east-1:123456789012:local-WorkDeadLetterQueue"
    )
    assert t.outputs() == {
        "OrdersTableName": "local-orders",
        "WorkQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/local-WorkQueue",
        "ApiFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:local-ApiFunction",
    }


def test_bind_uses_deployed_ids() -> None:
    t = _generic().bind(
        {
            "WorkQueue": DeployedResource(
                "WorkQueue",
                "AWS::SQS::Queue",
                "local-WorkQueue",
                "http://127.0.0.1:5000/123456789012/local-WorkQueue",
                {"Arn": "arn:aws:sqs:us-east-1:123456789012:local-WorkQueue"},
            )
        }
    )
    assert t.function("ApiFunction").environment["QUEUE_URL"] == "http://127.0.0.1:5000/123456789012/local-WorkQueue"
    assert t.outputs()["WorkQueueUrl"].startswith("http://127.0.0.1:5000/")


@pytest.mark.parametrize(
    ("value", "message", "path"),
    [
        ("!ImportValue shared-vpc", "Fn::ImportValue is not supported locally", "Fn::ImportValue"),
        ("!Cidr [10.0.0.0/16, 4, 8]", "intrinsic function Fn::Cidr is not supported", "Variables.X"),
        ("{'Fn::Nope': 1}", "intrinsic function Fn::Nope is not supported", "Variables.X"),
        ("!Ref Nowhere", "Ref to unknown parameter or resource 'Nowhere'", "Variables.X.Ref"),
        ("!GetAtt Table.Nope", "attribute 'Nope' of Table", "Fn::GetAtt"),
        ("!Ref Dropped", "its condition 'Never' is false", "Variables.X.Ref"),
        ("!Sub '${Missing}'", "Ref to unknown parameter or resource 'Missing'", "Fn::Sub"),
        ("!Select [5, [a, b]]", "index 5 is out of range", "Fn::Select"),
        ("!FindInMap [M, x, y]", "Mappings has no M.x.y", "Fn::FindInMap"),
    ],
)
def test_resolution_errors_name_the_path(tmp_path: Path, value: str, message: str, path: str) -> None:
    template = _write(
        tmp_path,
        f"""
        Conditions:
          Never: !Equals [a, b]
        Resources:
          Table:
            Type: AWS::DynamoDB::Table
            Properties: {{KeySchema: [], AttributeDefinitions: []}}
          Dropped:
            Type: AWS::SNS::Topic
            Condition: Never
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: .
              Handler: app.handler
              Environment:
                Variables:
                  X: {value}
        """,
    )
    with pytest.raises(TemplateError) as info:
        load_template(template).function("Fn")
    assert message in str(info.value)
    assert info.value.path.startswith("Resources.Fn.Properties.Environment.Variables.X")
    assert path in info.value.path


def test_unknown_yaml_tag_and_missing_resources(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="unknown YAML tag !Frobnicate"):
        load_template(_write(tmp_path, "Resources:\n  X: !Frobnicate y\n"))
    with pytest.raises(TemplateError, match="no Resources"):
        load_template(_write(tmp_path, "Parameters: {}\n"))
    with pytest.raises(TemplateError, match="not found"):
        load_template(tmp_path / "nope.yaml")


def test_unresolved_stream_arn_before_deploy() -> None:
    t = load_template(FIXTURES / "dynamodb_stream" / "template.yaml")
    with pytest.raises(UnresolvedAttributeError, match="exists only after deploy"):
        t.resolve({"Fn::GetAtt": ["ItemsTable", "StreamArn"]}, "probe")


# ------------------------------------------------------------------------------------ mappings


def test_msk_mappings_from_sam_event_and_resource() -> None:
    t = load_template(FIXTURES / "msk" / "template.yaml", stack_name="shop")
    mappings = {m.name: m for m in t.event_source_mappings()}
    assert set(mappings) == {"Orders", "ReturnsMapping"}  # the SQS mapping is not emulated
    orders = mappings["Orders"]
    assert (orders.kind, orders.function_logical_id, orders.topics) == ("MSK", "ConsumerFunction", ("orders",))
    assert orders.cluster_arn == "arn:aws:kafka:us-east-1:123456789012:cluster/orders/abcd-1234"
    assert (orders.starting_position, orders.batch_size, orders.maximum_batching_window_s) == ("TRIM_HORIZON", 250, 2.0)
    assert orders.consumer_group_id == "shop-orders"
    assert orders.report_batch_item_failures is True and orders.enabled is True
    assert orders.filter_patterns == ({"value": {"kind": ["order"]}}, {"value": {"priority": [{"numeric": [">", 5]}]}})
    assert orders.on_failure == OnFailureDestination("sqs", "arn:aws:sqs:us-east-1:123456789012:shop-FailureQueue")
    assert orders.extra["SourceAccessConfigurations"][0]["Type"] == "CLIENT_CERTIFICATE_TLS_AUTH"
    returns = mappings["ReturnsMapping"]
    assert (returns.function_logical_id, returns.topics, returns.consumer_group_id) == (
        "ConsumerFunction",
        ("returns",),
        "returns-group",
    )
    # AWS defaults for what the resource leaves out
    assert (returns.batch_size, returns.maximum_batching_window_s, returns.starting_position) == (100, 0.5, "LATEST")
    assert (returns.maximum_retry_attempts, returns.maximum_record_age_s, returns.bisect_batch_on_function_error) == (
        3,
        3600,
        True,
    )
    assert returns.on_failure == OnFailureDestination("kafka", "returns-dlq")
    assert kafka_topics(t.event_source_mappings()) == ["orders", "returns", "returns-dlq"]


def test_msk_mapping_disabled_by_parameter() -> None:
    t = load_template(FIXTURES / "msk" / "template.yaml", parameter_overrides="Enabled=false")
    assert {m.name: m.enabled for m in t.event_source_mappings()} == {"Orders": False, "ReturnsMapping": True}


def test_self_managed_kafka_mappings() -> None:
    t = load_template(FIXTURES / "self_managed" / "template.yaml")
    mappings = {m.name: m for m in t.event_source_mappings()}
    payments, refunds = mappings["Payments"], mappings["RefundsMapping"]
    assert payments.kind == refunds.kind == "SelfManagedKafka"
    assert payments.bootstrap_servers == ("broker-1:9092", "broker-2:9092") and payments.cluster_arn is None
    assert (payments.starting_position, payments.starting_position_timestamp) == ("AT_TIMESTAMP", 1_700_000_000.0)
    assert payments.consumer_group_id == "payments-group"
    # FunctionName given as a plain name maps back to the logical id
    assert refunds.function_logical_id == "SmkFunction"
    assert (refunds.bootstrap_servers, refunds.batch_size, refunds.enabled) == (("broker-1:9092",), 10, False)
    assert refunds.consumer_group_id == "refunds-group"
    dropped = load_template(FIXTURES / "self_managed" / "template.yaml", parameter_overrides={"UseSecondMapping": "no"})
    assert [m.name for m in dropped.event_source_mappings()] == ["Payments"]


def test_dynamodb_stream_mappings_before_and_after_deploy() -> None:
    t = load_template(FIXTURES / "dynamodb_stream" / "template.yaml")
    mappings = {m.name: m for m in t.event_source_mappings()}
    changes, audit = mappings["Changes"], mappings["AuditMapping"]
    assert changes.kind == audit.kind == "DynamoDB"
    assert changes.stream_arn is None  # the stream label exists only once the table does
    assert changes.extra["table_logical_id"] == "ItemsTable" and changes.extra["table_name"] == "local-items"
    assert (changes.maximum_batching_window_s, changes.batch_size, changes.maximum_retry_attempts) == (0.0, 100, -1)
    assert (changes.parallelization_factor, changes.tumbling_window_s) == (2, 30)
    assert changes.filter_patterns == ({"eventName": ["INSERT", "MODIFY"]},)
    assert changes.on_failure == OnFailureDestination("sns", "arn:aws:sns:us-east-1:123456789012:local-FailureTopic")
    # Ref of a queue is its URL; the destination is the queue ARN, as Lambda needs.
    assert audit.on_failure == OnFailureDestination("sqs", "arn:aws:sqs:us-east-1:123456789012:local-FailureQueue")
    assert (audit.batch_size, audit.maximum_batching_window_s, audit.function_logical_id) == (5, 3.0, "StreamFunction")

    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/local-items/stream/2024-01-01T00:00:00.000"
    bound = t.bind(
        [
            DeployedResource(
                "ItemsTable",
                "AWS::DynamoDB::Table",
                "local-items",
                "local-items",
                {"Arn": "arn:aws:dynamodb:us-east-1:123456789012:table/local-items", "StreamArn": stream},
            )
        ]
    )
    assert {m.name: m.stream_arn for m in bound.event_source_mappings()} == {"Changes": stream, "AuditMapping": stream}


def test_dynamodb_stream_mapping_follows_the_global_table_twin() -> None:
    t = load_template(FIXTURES / "dynamodb_stream" / "template.yaml", parameter_overrides={"GlobalTables": "true"})
    assert "ItemsTable" not in t.resources and "ItemsTableGlobal" in t.resources
    (changes,) = t.event_source_mappings()  # AuditMapping's condition is false
    assert changes.extra["table_logical_id"] == "ItemsTableGlobal"
    assert t.function("StreamFunction").environment["TABLE"] == "local-items"


@pytest.mark.parametrize(
    ("properties", "message", "path"),
    [
        ("BatchSize: 0", "0 is outside 1..10000", "Properties.BatchSize"),
        ("MaximumBatchingWindowInSeconds: 301", "301 is outside 0..300", "MaximumBatchingWindowInSeconds"),
        ("MaximumRecordAgeInSeconds: 30", "-1 or 60..604800", "MaximumRecordAgeInSeconds"),
        ("StartingPosition: EARLIEST", "is not one of TRIM_HORIZON", "StartingPosition"),
        ("Topics: [a, b]", "exactly one topic", "Topics"),
        ("FilterCriteria: {Filters: [{Pattern: '{not json'}]}", "not valid JSON", "Filters[0].Pattern"),
        ("FunctionName: somebody-else", "is not a function of this template", "FunctionName"),
        ("DestinationConfig: {OnFailure: {Destination: 'mailto:x'}}", "cannot tell what kind", "OnFailure"),
    ],
)
def test_mapping_validation_errors(tmp_path: Path, properties: str, message: str, path: str) -> None:
    props = {
        "FunctionName": "!Ref Fn",
        "EventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/c/u",
        "Topics": "[t]",
    }
    key, value = properties.split(":", 1)
    props[key] = value.strip()
    text = "\n".join(
        [
            "Resources:",
            "  Fn:",
            "    Type: AWS::Serverless::Function",
            "    Properties: {CodeUri: ., Handler: app.handler}",
            "  Mapping:",
            "    Type: AWS::Lambda::EventSourceMapping",
            "    Properties:",
            *(f"      {k}: {v}" for k, v in props.items()),
        ]
    )
    template = _write(tmp_path, text + "\n")
    with pytest.raises(TemplateError) as info:
        load_template(template).event_source_mappings()
    assert message in str(info.value)
    assert info.value.path.startswith("Resources.Mapping.Properties") and path in info.value.path


# ------------------------------------------------------------------------------------ the repo's template


@pytest.fixture
def repo_template_path() -> Path:
    if not REPO_TEMPLATE.is_file():
        pytest.skip("template.yaml not written yet")
    return REPO_TEMPLATE


def test_repo_template_local_env(repo_template_path: Path) -> None:
    t = load_template(repo_template_path, config_env="local")
    names = {f.logical_id for f in t.functions()}
    assert {"IngestFunction", "NotifyFunction"} <= names
    ingest = t.function("IngestFunction")
    assert ingest.code_uri is not None and (ingest.code_uri / "app.py").is_file()
    assert ingest.layers and all(p.is_dir() for p in ingest.layers)
    assert ingest.environment["SHIPMENTS_TABLE"].endswith("-shipments")
    mappings = t.event_source_mappings()
    kafka = [m for m in mappings if m.function_logical_id == "IngestFunction"]
    assert kafka and all(m.kind == "MSK" and len(m.topics) == 1 and m.consumer_group_id for m in kafka)
    streams = [m for m in mappings if m.kind == "DynamoDB"]
    assert [m.function_logical_id for m in streams] == ["NotifyFunction"]
    assert streams[0].extra["table_logical_id"] == "ShipmentsTable"


def test_repo_template_self_managed_and_global_tables(repo_template_path: Path) -> None:
    t = load_template(
        repo_template_path,
        config_env="local",
        region="us-east-1",
        parameter_overrides={
            "KafkaMode": "SelfManagedKafka",
            "GlobalTables": "true",
            "KafkaBootstrapServers": "127.0.0.1:19092",
        },
    )
    kafka = [m for m in t.event_source_mappings() if m.kind != "DynamoDB"]
    assert kafka and all(m.kind == "SelfManagedKafka" and m.bootstrap_servers == ("127.0.0.1:19092",) for m in kafka)
    streams = [m for m in t.event_source_mappings() if m.kind == "DynamoDB"]
    assert streams[0].extra["table_logical_id"] == "ShipmentsTableGlobal"
    assert "ShipmentsTable" not in t.resources
