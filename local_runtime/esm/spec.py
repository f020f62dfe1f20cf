"""What an event-source mapping declares, normalised from either SAM ``Events`` or raw
``AWS::Lambda::EventSourceMapping`` resources, with every intrinsic already resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SourceKind = Literal["MSK", "SelfManagedKafka", "DynamoDB"]


@dataclass(frozen=True)
class OnFailureDestination:
    """``DestinationConfig.OnFailure``: kind is ``sqs`` | ``sns`` | ``s3`` | ``kafka``.

    ``target`` is the resolved ARN (queue, topic, bucket) or, for kafka, the topic name
    (``kafka://topic`` in the template).
    """

    kind: Literal["sqs", "sns", "s3", "kafka"]
    target: str


@dataclass(frozen=True)
class SchemaRegistrySpec:
    """``SchemaRegistryConfig`` of a Kafka mapping (docs/SCHEMA_REGISTRY.md).

    ``registry_uri`` is the Glue registry ARN (or a Confluent URL, which is not emulated); it is ``None``
    until deploy has created a registry the template declares (``registry_logical_id`` names it).
    ``attributes`` are the ``SchemaValidationConfigs`` attributes, ``KEY`` and/or ``VALUE``.
    """

    registry_uri: str | None
    event_record_format: Literal["JSON", "SOURCE"] = "JSON"
    attributes: tuple[Literal["KEY", "VALUE"], ...] = ("VALUE",)
    access_configs: tuple[dict[str, Any], ...] = ()
    registry_logical_id: str | None = None


@dataclass(frozen=True)
class MappingSpec:
    """One event-source mapping of one function, as AWS would configure it."""

    name: str  # event name in SAM Events, or the ESM resource's logical id
    function_logical_id: str
    kind: SourceKind
    # Kafka
    topics: tuple[str, ...] = ()
    cluster_arn: str | None = None  # MSK: Stream / EventSourceArn
    bootstrap_servers: tuple[str, ...] = ()  # SelfManagedKafka: KafkaBootstrapServers
    consumer_group_id: str | None = None
    # DynamoDB Streams
    stream_arn: str | None = None  # resolved later by deploy for !GetAtt Table.StreamArn
    # Common controls (AWS defaults applied by the loader)
    starting_position: str = "LATEST"  # TRIM_HORIZON | LATEST | AT_TIMESTAMP
    starting_position_timestamp: float | None = None
    batch_size: int = 100
    maximum_batching_window_s: float = 0.5  # Kafka default 0.5; DynamoDB default 0
    maximum_retry_attempts: int = -1
    maximum_record_age_s: int = -1
    bisect_batch_on_function_error: bool = False
    report_batch_item_failures: bool = False
    parallelization_factor: int = 1
    tumbling_window_s: int = 0
    filter_patterns: tuple[dict[str, Any], ...] = ()  # parsed JSON of FilterCriteria.Filters[].Pattern
    on_failure: OnFailureDestination | None = None
    schema_registry: SchemaRegistrySpec | None = None  # Kafka only: SchemaRegistryConfig
    metrics: tuple[str, ...] = ()  # MetricsConfig.Metrics: EventCount | ErrorCount | KafkaMetrics
    enabled: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # anything else declared, kept for inspection
