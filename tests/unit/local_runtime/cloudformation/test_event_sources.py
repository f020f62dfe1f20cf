"""local_runtime.cloudformation.event_sources: Kafka and DynamoDB Streams mappings from SAM events and resources."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_runtime.cloudformation import DeployedResource, TemplateError, load_template
from local_runtime.deploy import kafka_topics
from local_runtime.esm.kafka.pollers import poller_bounds
from local_runtime.esm.spec import OnFailureDestination
from tests.unit.local_runtime.cloudformation.support import FIXTURES, write_template

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


def mapping_template(tmp_path: Path, props: dict[str, str]) -> Path:
    """A template of one function and one AWS::Lambda::EventSourceMapping with ``props``."""
    text = "\n".join([
        "Resources:",
        "  Fn:",
        "    Type: AWS::Serverless::Function",
        "    Properties: {CodeUri: ., Handler: app.handler}",
        "  Mapping:",
        "    Type: AWS::Lambda::EventSourceMapping",
        "    Properties:",
        *(f"      {k}: {v}" for k, v in props.items()),
    ])
    return write_template(tmp_path, text + "\n")


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
        ("SchemaRegistryConfig: {SchemaRegistryURI: 'arn:aws:glue:us-east-1:123456789012:registry/r', "
         "SchemaValidationConfigs: [{Attribute: VALUE}]}", "needs the mapping's provisioned mode",
         "SchemaRegistryConfig"),
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
    with pytest.raises(TemplateError) as info:
        load_template(mapping_template(tmp_path, props)).event_source_mappings()
    assert message in str(info.value)
    assert info.value.path.startswith("Resources.Mapping.Properties") and path in info.value.path


@pytest.mark.parametrize(
    ("provisioned", "partitions", "bounds"),
    [
        (None, 6, (1, 6)),  # on-demand: one poller, up to one per partition
        ("{MinimumPollers: 2, MaximumPollers: 4}", 6, (2, 4)),
        ("{MinimumPollers: 3, MaximumPollers: 10}", 6, (3, 6)),  # no poller without a partition
        ("{MaximumPollers: 3}", 6, (1, 3)),  # AWS's default minimum is 1
        ("{MinimumPollers: 8}", 6, (6, 6)),
    ],
)
def test_poller_bounds_follow_the_mode(tmp_path: Path, provisioned: str | None, partitions: int,
                                       bounds: tuple[int, int]) -> None:
    props = {"FunctionName": "!Ref Fn", "EventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/c/u",
             "Topics": "[t]"}
    if provisioned:
        props["ProvisionedPollerConfig"] = provisioned
    (spec,) = load_template(mapping_template(tmp_path, props)).event_source_mappings()
    assert poller_bounds(spec, partitions) == bounds
