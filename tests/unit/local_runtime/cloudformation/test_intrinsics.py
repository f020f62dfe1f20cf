"""local_runtime.cloudformation: intrinsics, conditions, Globals, functions and binding, on fixture templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_runtime.cloudformation import DeployedResource, TemplateError, UnresolvedAttributeError, load_template
from tests.unit.local_runtime.cloudformation.support import FIXTURES, GENERIC, load_generic, write_template

# ------------------------------------------------------------------------------------ intrinsics


def test_sub_join_select_split_findinmap_and_pseudo_parameters() -> None:
    t = load_generic(stack_name="shop", region="us-west-2", account_id="000000000000")
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
    t = load_generic()
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
    inline = load_generic().function("InlineFunction")
    assert inline.code_uri is None
    assert inline.inline_code is not None and "def handler" in inline.inline_code
    assert inline.environment == {}  # Globals apply to AWS::Serverless::Function only


def test_condition_false_drops_resources_and_outputs() -> None:
    t = load_generic()
    assert t.conditions["IsProd"] is False
    assert "ProdAuditTable" not in t.resources and t.dropped["ProdAuditTable"] == "IsProd"
    assert "AlertSubscription" not in t.resources
    assert "AuditTable" not in t.outputs()
    prod = load_generic(parameter_overrides={"Stage": "prod", "AlertEmail": "ops@example.com", "ApiKey": "k"})
    assert {"ProdAuditTable", "AlertSubscription"} <= prod.resources.keys()
    assert prod.function("ApiFunction").environment["PROD_ONLY"] == "yes"
    assert prod.outputs()["AuditTable"] == "local-ProdAuditTable"


def test_rules_are_checked() -> None:
    with pytest.raises(TemplateError, match=r"Rules\.ProdNeedsAlerts.*prod needs AlertEmail"):
        load_generic(parameter_overrides={"Stage": "prod", "ApiKey": "k"})


def test_resolved_properties_and_outputs() -> None:
    t = load_generic()
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
    t = load_generic().bind(
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
    template = write_template(
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
        load_template(write_template(tmp_path, "Resources:\n  X: !Frobnicate y\n"))
    with pytest.raises(TemplateError, match="no Resources"):
        load_template(write_template(tmp_path, "Parameters: {}\n"))
    with pytest.raises(TemplateError, match="not found"):
        load_template(tmp_path / "nope.yaml")


def test_unresolved_stream_arn_before_deploy() -> None:
    t = load_template(FIXTURES / "dynamodb_stream" / "template.yaml")
    with pytest.raises(UnresolvedAttributeError, match="exists only after deploy"):
        t.resolve({"Fn::GetAtt": ["ItemsTable", "StreamArn"]}, "probe")


