"""Event sources -> :class:`~local_runtime.esm.spec.MappingSpec`: Kafka (MSK, self-managed) and DynamoDB Streams
mappings from SAM ``Events`` and from ``AWS::Lambda::EventSourceMapping`` resources, with AWS's defaults
and limits applied."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from local_runtime.cloudformation.errors import TemplateError, UnresolvedAttributeError
from local_runtime.cloudformation.intrinsics import getatt
from local_runtime.cloudformation.resources import FUNCTION_TYPES, MSK_TYPES, TABLE_TYPES
from local_runtime.cloudformation.values import as_bool, int_in_range, to_str
from local_runtime.esm.filtering import InvalidFilterPattern, check_filter_criteria, parse_filter_pattern
from local_runtime.esm.spec import MappingSpec, OnFailureDestination, SchemaRegistrySpec

if TYPE_CHECKING:
    from local_runtime.cloudformation.template import Resource, Template

__all__ = ["event_source_mappings"]

_EMULATED_EVENTS = ("MSK", "SelfManagedKafka", "DynamoDB")


def event_source_mappings(t: Template) -> list[MappingSpec]:
    """Every emulated mapping of ``t``, in template order (SQS, Kinesis... sources are left out)."""
    specs: list[MappingSpec] = []
    for resource in t.resources.values():
        if resource.type == "AWS::Serverless::Function":
            for event_name, event in (resource.raw_properties.get("Events") or {}).items():
                epath = f"{resource.path}.Properties.Events.{event_name}"
                etype = event.get("Type") if isinstance(event, dict) else None
                if etype in _EMULATED_EVENTS:
                    specs.append(_mapping_from_sam_event(t, resource, event_name, event, epath))
        elif resource.type == "AWS::Lambda::EventSourceMapping":
            spec = _mapping_from_resource(t, resource)
            if spec is not None:
                specs.append(spec)
    return specs


_STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
# Property names shared by SAM events and the EventSourceMapping resource -> MappingSpec fields.
_COMMON_INT = {
    "BatchSize": ("batch_size", 1, 10_000),
    "MaximumRetryAttempts": ("maximum_retry_attempts", -1, 10_000),
    "MaximumRecordAgeInSeconds": ("maximum_record_age_s", -1, 604_800),
    "ParallelizationFactor": ("parallelization_factor", 1, 10),
    "TumblingWindowInSeconds": ("tumbling_window_s", 0, 900),
}
_HANDLED = {
    *_COMMON_INT, "MaximumBatchingWindowInSeconds", "StartingPosition", "StartingPositionTimestamp",
    "BisectBatchOnFunctionError", "FunctionResponseTypes", "FilterCriteria", "DestinationConfig", "Enabled",
    "Topics", "ConsumerGroupId", "KafkaBootstrapServers", "Stream", "EventSourceArn", "FunctionName",
    "SelfManagedEventSource", "SchemaRegistryConfig", "MetricsConfig",
}
_METRICS = {"EventCount": ("MSK", "SelfManagedKafka", "DynamoDB"), "ErrorCount": ("MSK", "SelfManagedKafka"),
            "KafkaMetrics": ("MSK", "SelfManagedKafka")}


def _target_of(t: Template, raw: Any) -> tuple[str, str | None] | None:
    """The (logical id, attribute) a raw value points at: Ref X, GetAtt X.A, Sub "${X.A}", through Fn::If."""
    if isinstance(raw, dict) and len(raw) == 1:
        ((key, arg),) = raw.items()
        if key == "Ref" and isinstance(arg, str):
            return (arg, None) if arg in t.resources or arg in t.context.deployed else None
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and len(parts) == 2 and isinstance(parts[1], str):
                return parts[0], parts[1]
        if key == "Fn::Sub" and isinstance(arg, str) and (m := re.fullmatch(r"\$\{([^}!.]+)\.([^}]+)\}", arg)):
            return m.group(1), m.group(2)
        if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            return _target_of(t, arg[1] if t.condition(arg[0]) else arg[2])
    return None


def _resolve_function_id(t: Template, raw: Any, path: str) -> str:
    target = _target_of(t, raw)
    if target and target[0] in t.resources and t.resources[target[0]].type in FUNCTION_TYPES:
        return target[0]
    value = to_str(t.resolve(raw, path), path)
    # A name, a full or partial ARN, possibly qualified (":alias"): compare the function-name part.
    name = value.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in value else value.split(":")[0]
    for lid, res in t.resources.items():
        if res.type in FUNCTION_TYPES and t.physical_name(lid) == name:
            return lid
    raise TemplateError(f"FunctionName {value!r} is not a function of this template", path)


def _filter_patterns(criteria: Any, path: str) -> tuple[dict[str, Any], ...]:
    if not criteria:
        return ()
    filters = criteria.get("Filters") if isinstance(criteria, dict) else None
    if not isinstance(filters, list):
        raise TemplateError("FilterCriteria needs a Filters list", path)
    patterns = []
    for i, item in enumerate(filters):
        pattern = item.get("Pattern") if isinstance(item, dict) else None
        if isinstance(pattern, str):
            try:
                pattern = parse_filter_pattern(pattern)  # as Lambda reads it (repeated keys merged)
            except InvalidFilterPattern as exc:
                raise TemplateError(str(exc), f"{path}.Filters[{i}].Pattern") from exc
        if not isinstance(pattern, dict):
            raise TemplateError("Pattern must be a JSON object", f"{path}.Filters[{i}].Pattern")
        patterns.append(pattern)
    return tuple(patterns)


def _on_failure(t: Template, raw_config: Any, path: str) -> OnFailureDestination | None:
    if not isinstance(raw_config, dict) or not isinstance(raw_config.get("OnFailure"), dict):
        return None
    raw = raw_config["OnFailure"]
    opath = f"{path}.OnFailure"
    if "Destination" not in raw:
        raise TemplateError("OnFailure needs a Destination", opath)
    target_ref = _target_of(t, raw["Destination"])
    target_type = None
    if target_ref and target_ref[0] in t.resources:
        target_type = t.resources[target_ref[0]].type
    destination = to_str(t.resolve(raw["Destination"], f"{opath}.Destination"), f"{opath}.Destination")
    declared = str(t.resolve(raw.get("Type", ""), f"{opath}.Type") or "").lower()
    if destination.startswith("kafka://"):
        return OnFailureDestination("kafka", destination.removeprefix("kafka://"))
    kind = declared or {
        "AWS::SQS::Queue": "sqs", "AWS::SNS::Topic": "sns", "AWS::S3::Bucket": "s3"}.get(target_type or "")
    if not kind:
        kind = next((k for k, marker in (("sqs", ":sqs:"), ("sns", ":sns:"), ("s3", ":s3:::"))
                     if marker in destination), "")
    if kind not in ("sqs", "sns", "s3", "kafka"):
        raise TemplateError(f"cannot tell what kind of destination {destination!r} is (SQS, SNS, S3 or "
                            "kafka://topic)", opath)
    if kind == "sqs" and target_ref and target_ref[1] is None and target_type == "AWS::SQS::Queue":
        destination = getatt(t, target_ref[0], "Arn", opath)  # Ref of a queue is its URL; Lambda wants the ARN
    if kind == "kafka":
        destination = destination.removeprefix("kafka://")
    return OnFailureDestination(kind, destination)  # type: ignore[arg-type]


def _metrics(kind: str, raw: Any, path: str) -> tuple[str, ...]:
    """``MetricsConfig.Metrics``: EventCount for every source, ErrorCount and KafkaMetrics for Kafka only."""
    if raw is None:
        return ()
    metrics = raw.get("Metrics") if isinstance(raw, dict) else None
    if not isinstance(metrics, list):
        raise TemplateError("MetricsConfig needs a Metrics list", path)
    for metric in metrics:
        if kind not in _METRICS.get(metric, ()):
            allowed = [m for m, kinds in _METRICS.items() if kind in kinds]
            raise TemplateError(f"MetricsConfig.Metrics {metric!r} is not one of {allowed} for {kind}", path)
    return tuple(dict.fromkeys(metrics))


def _schema_registry(t: Template, raw: Any, path: str) -> SchemaRegistrySpec | None:
    """``SchemaRegistryConfig``: the registry (a Glue ARN, known after deploy), format and attributes."""
    while isinstance(raw, dict) and list(raw) == ["Fn::If"] and isinstance(raw["Fn::If"], list):
        condition, when_true, when_false = raw["Fn::If"]
        raw = when_true if t.condition(condition) else when_false
    if raw is None or raw == {"Ref": "AWS::NoValue"}:
        return None
    if not isinstance(raw, dict):
        raise TemplateError("SchemaRegistryConfig must be an object", path)
    target = _target_of(t, raw.get("SchemaRegistryURI"))
    logical_id = target[0] if target and target[0] in t.resources else None
    try:
        uri = t.resolve(raw.get("SchemaRegistryURI"), f"{path}.SchemaRegistryURI")
    except UnresolvedAttributeError:
        uri = None  # the template's own registry: its ARN is known once deploy has created it
    if uri is None and logical_id is None:
        raise TemplateError("SchemaRegistryConfig needs SchemaRegistryURI", f"{path}.SchemaRegistryURI")
    record_format = str(t.resolve(raw.get("EventRecordFormat"), f"{path}.EventRecordFormat") or "").upper()
    if record_format not in ("JSON", "SOURCE"):
        raise TemplateError("EventRecordFormat is JSON or SOURCE", f"{path}.EventRecordFormat")
    configs = t.resolve(raw.get("SchemaValidationConfigs"), f"{path}.SchemaValidationConfigs") or []
    attributes = [str(c.get("Attribute", "")).upper() for c in configs if isinstance(c, dict)]
    if not attributes or any(a not in ("KEY", "VALUE") for a in attributes):
        raise TemplateError("SchemaValidationConfigs needs Attribute KEY and/or VALUE",
                            f"{path}.SchemaValidationConfigs")
    access = t.resolve(raw.get("AccessConfigs"), f"{path}.AccessConfigs") or []
    return SchemaRegistrySpec(
        registry_uri=to_str(uri, f"{path}.SchemaRegistryURI") if uri is not None else None,
        event_record_format=record_format,  # type: ignore[arg-type]
        attributes=tuple(dict.fromkeys(attributes)),  # type: ignore[arg-type]
        access_configs=tuple(a for a in access if isinstance(a, dict)),
        registry_logical_id=logical_id,
    )


def _build_mapping(t: Template, *, name: str, function_id: str, kind: str, props: Mapping[str, Any],
                   ppath: str, source: str, resource_id: str) -> MappingSpec:
    """Normalise one mapping; ``props`` are raw (unresolved) values under common property names."""

    def get(key: str, default: Any = None) -> Any:
        if key not in props:
            return default
        value = t.resolve(props[key], f"{ppath}.{key}")
        return default if value is None else value

    fields: dict[str, Any] = {}
    for key, (attr, lo, hi) in _COMMON_INT.items():
        if key in props and (value := get(key)) is not None:
            fields[attr] = int_in_range(value, lo, hi, f"{ppath}.{key}")
    if 0 <= fields.get("maximum_record_age_s", -1) < 60:
        raise TemplateError("MaximumRecordAgeInSeconds is -1 or 60..604800", f"{ppath}.MaximumRecordAgeInSeconds")
    default_window = 0.0 if kind == "DynamoDB" else 0.5
    window = get("MaximumBatchingWindowInSeconds")
    fields["maximum_batching_window_s"] = (default_window if window is None else float(
        int_in_range(window, 0, 300, f"{ppath}.MaximumBatchingWindowInSeconds")))
    position = str(get("StartingPosition", "LATEST")).upper()
    if position not in _STARTING_POSITIONS:
        raise TemplateError(f"StartingPosition {position!r} is not one of {', '.join(_STARTING_POSITIONS)}",
                            f"{ppath}.StartingPosition")
    fields["starting_position"] = position
    if (ts := get("StartingPositionTimestamp")) is not None:
        fields["starting_position_timestamp"] = float(ts)
    elif position == "AT_TIMESTAMP":
        raise TemplateError("AT_TIMESTAMP needs StartingPositionTimestamp", f"{ppath}.StartingPosition")
    if "BisectBatchOnFunctionError" in props:
        fields["bisect_batch_on_function_error"] = as_bool(get("BisectBatchOnFunctionError"),
                                                         f"{ppath}.BisectBatchOnFunctionError")
    response_types = get("FunctionResponseTypes") or []
    fields["report_batch_item_failures"] = "ReportBatchItemFailures" in response_types
    fields["filter_patterns"] = _filter_patterns(get("FilterCriteria"), f"{ppath}.FilterCriteria")
    try:
        check_filter_criteria(kind, fields["filter_patterns"])  # what CreateEventSourceMapping refuses
    except InvalidFilterPattern as exc:
        raise TemplateError(str(exc), f"{ppath}.FilterCriteria") from exc
    if "DestinationConfig" in props:
        fields["on_failure"] = _on_failure(t, props["DestinationConfig"], f"{ppath}.DestinationConfig")
    if "Enabled" in props:
        fields["enabled"] = as_bool(get("Enabled"), f"{ppath}.Enabled")
    fields["metrics"] = _metrics(kind, get("MetricsConfig"), f"{ppath}.MetricsConfig")
    if "SchemaRegistryConfig" in props:
        if kind == "DynamoDB":
            raise TemplateError("SchemaRegistryConfig is for Kafka mappings only", f"{ppath}.SchemaRegistryConfig")
        if "ProvisionedPollerConfig" not in props:  # AWS refuses a registry on an on-demand mapping
            raise TemplateError("SchemaRegistryConfig needs the mapping's provisioned mode: declare "
                                "ProvisionedPollerConfig (Lambda supports schema registries only in provisioned "
                                "mode)", f"{ppath}.SchemaRegistryConfig")
        fields["schema_registry"] = _schema_registry(t, props["SchemaRegistryConfig"],
                                                     f"{ppath}.SchemaRegistryConfig")

    extra: dict[str, Any] = {"source": source, "resource_logical_id": resource_id}
    if kind in ("MSK", "SelfManagedKafka"):
        topics = get("Topics") or []
        if not isinstance(topics, list) or len(topics) != 1:
            raise TemplateError("a Kafka event-source mapping takes exactly one topic (Topics: [name])",
                                f"{ppath}.Topics")
        fields["topics"] = tuple(to_str(x, f"{ppath}.Topics") for x in topics)
        if (group := get("ConsumerGroupId")) is not None:
            fields["consumer_group_id"] = to_str(group, f"{ppath}.ConsumerGroupId")
        if kind == "MSK":
            fields["cluster_arn"] = to_str(get("EventSourceArn"), f"{ppath}.EventSourceArn")
        else:
            servers = get("KafkaBootstrapServers") or []
            servers = servers.split(",") if isinstance(servers, str) else servers
            fields["bootstrap_servers"] = tuple(s.strip() for s in servers if s and s.strip())
            if not fields["bootstrap_servers"]:
                raise TemplateError("SelfManagedKafka needs KafkaBootstrapServers", f"{ppath}.KafkaBootstrapServers")
    else:  # DynamoDB
        raw_stream = props.get("EventSourceArn")
        target = _target_of(t, raw_stream)
        if target and target[0] in t.resources and t.resources[target[0]].type in TABLE_TYPES:
            extra["table_logical_id"] = target[0]
            extra["table_name"] = t.resource_info(target[0]).ref
        try:
            fields["stream_arn"] = to_str(get("EventSourceArn"), f"{ppath}.EventSourceArn")
        except UnresolvedAttributeError:
            fields["stream_arn"] = None  # known once deploy has created the table (Template.bind)
        if "table_logical_id" not in extra and fields["stream_arn"]:
            for lid, info in t.context.deployed.items():
                if info.attributes.get("StreamArn") == fields["stream_arn"]:
                    extra |= {"table_logical_id": lid, "table_name": info.ref}
    for key in props:
        if key not in _HANDLED:
            try:
                extra[key] = t.resolve(props[key], f"{ppath}.{key}")
            except TemplateError:
                extra[key] = props[key]  # kept raw: informational only
    return MappingSpec(name=name, function_logical_id=function_id, kind=kind, extra=extra, **fields)  # type: ignore[arg-type]


def _mapping_from_sam_event(t: Template, fn: Resource, event_name: str, event: Mapping[str, Any],
                            path: str) -> MappingSpec:
    props = dict(event.get("Properties") or {})
    if "Stream" in props:
        props["EventSourceArn"] = props.pop("Stream")
    kind = event["Type"]
    if kind == "MSK" and "EventSourceArn" not in props:
        raise TemplateError("an MSK event needs Stream (the cluster ARN)", f"{path}.Properties.Stream")
    if kind == "DynamoDB" and "EventSourceArn" not in props:
        raise TemplateError("a DynamoDB event needs Stream (the table's StreamArn)", f"{path}.Properties.Stream")
    return _build_mapping(t, name=event_name, function_id=fn.logical_id, kind=kind, props=props,
                          ppath=f"{path}.Properties", source="sam-event",
                          resource_id=f"{fn.logical_id}{event_name}")


def _mapping_kind(t: Template, props: Mapping[str, Any], ppath: str) -> str | None:
    if "SelfManagedEventSource" in props:
        return "SelfManagedKafka"
    if "AmazonManagedKafkaEventSourceConfig" in props:
        return "MSK"
    raw = props.get("EventSourceArn")
    if raw is None:
        return None
    target = _target_of(t, raw)
    if target and target[0] in t.resources:
        rtype = t.resources[target[0]].type
        if rtype in TABLE_TYPES:
            return "DynamoDB"
        if rtype in MSK_TYPES:
            return "MSK"
    try:
        arn = to_str(t.resolve(raw, f"{ppath}.EventSourceArn"), f"{ppath}.EventSourceArn")
    except UnresolvedAttributeError:
        return "DynamoDB"  # only stream ARNs are unknown before deploy
    if ":kafka:" in arn:
        return "MSK"
    if ":dynamodb:" in arn and "/stream/" in arn:
        return "DynamoDB"
    return None  # SQS, Kinesis, MQ, DocumentDB: not emulated here


def _mapping_from_resource(t: Template, res: Resource) -> MappingSpec | None:
    ppath = f"{res.path}.Properties"
    raw = res.raw_properties
    kind = _mapping_kind(t, raw, ppath)
    if kind is None:
        return None
    if "FunctionName" not in raw:
        raise TemplateError("EventSourceMapping needs FunctionName", f"{ppath}.FunctionName")
    props = dict(raw)
    if kind == "SelfManagedKafka":
        source = t.resolve(raw["SelfManagedEventSource"], f"{ppath}.SelfManagedEventSource") or {}
        servers = (source.get("Endpoints") or {}).get("KafkaBootstrapServers")
        props["KafkaBootstrapServers"] = servers or []
    config_key = "SelfManagedKafkaEventSourceConfig" if kind == "SelfManagedKafka" else (
        "AmazonManagedKafkaEventSourceConfig")
    if isinstance(raw.get(config_key), dict):
        # CloudFormation nests ConsumerGroupId and SchemaRegistryConfig in the Kafka source config.
        for key in ("ConsumerGroupId", "SchemaRegistryConfig"):
            if key in raw[config_key]:
                props[key] = raw[config_key][key]
    if kind == "MSK" and "EventSourceArn" not in props:
        raise TemplateError("an MSK mapping needs EventSourceArn", f"{ppath}.EventSourceArn")
    function_id = _resolve_function_id(t, raw["FunctionName"], f"{ppath}.FunctionName")
    return _build_mapping(t, name=res.logical_id, function_id=function_id, kind=kind, props=props, ppath=ppath,
                          source="resource", resource_id=res.logical_id)
