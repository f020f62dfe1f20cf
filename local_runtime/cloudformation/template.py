"""Load a SAM / CloudFormation template and evaluate it the way CloudFormation would, locally.

The pipeline is ``YAML (short-form tags) -> parameters -> conditions -> Globals -> lazy intrinsics``:

* :func:`load_template` reads the file (short-form tags such as ``!Sub`` become their long form
  ``{"Fn::Sub": ...}``), applies parameter defaults and overrides (a dict, or the ``parameter_overrides``
  of a ``samconfig.toml`` environment), drops resources whose ``Condition`` is false and merges SAM
  ``Globals`` into every serverless resource.
* Intrinsics are resolved *lazily*, when a value is asked for, against a :class:`ResolverContext`. Before
  deploy the context predicts physical names the way :mod:`local_runtime.deploy.deployer` will create them; after
  deploy, :meth:`Template.bind` gives it the real ones (queue URLs, stream ARNs...). Lazy resolution keeps
  an unrelated unsupported construct elsewhere in a third-party template from blocking what we need.
* :meth:`Template.functions` and :meth:`Template.event_source_mappings` are the views the rest of
  ``local_runtime`` consumes.

Every error is a :class:`TemplateError` whose message starts with the path in the template, e.g.
``Resources.Fn.Properties.Environment.Variables.TABLE.Fn::Sub: Ref to unknown parameter or resource 'X'``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shlex
import tomllib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from local_runtime.esm.spec import MappingSpec, OnFailureDestination

__all__ = [
    "DeployedResource",
    "FunctionSpec",
    "ResolverContext",
    "Resource",
    "Template",
    "TemplateError",
    "UnresolvedAttributeError",
    "load_template",
    "parse_parameter_overrides",
    "read_samconfig",
]

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
MOTO_ACCOUNT_ID = "123456789012"  # moto's default account; LocalStack uses 000000000000
DEFAULT_STACK_NAME = "local"


class TemplateError(Exception):
    """The template cannot be evaluated. ``path`` names the place in the template."""

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)


class UnresolvedAttributeError(TemplateError):
    """An attribute that exists only once the resource is deployed (a table's ``StreamArn``)."""


# --------------------------------------------------------------------------------------------------
# YAML with CloudFormation short-form tags


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader + CloudFormation tags. Dates stay strings (``AWSTemplateFormatVersion: 2010-09-09``)."""


_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "GetAtt Sub Join If Equals Not And Or Select Split FindInMap ImportValue Base64 GetAZs "
            "Cidr Transform Length ToJsonString Contains EachMemberEquals EachMemberIn RefAll ValueOf ValueOfAll"
        ).split()
    },
}


def _tag_constructor(key: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if key == "Fn::GetAtt" and isinstance(value, str):
            # "Res.Attr.Nested" -> ["Res", "Attr.Nested"], as CloudFormation splits at the first dot
            value = value.split(".", 1)
        return {key: value}

    return construct


def _unknown_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    raise TemplateError(f"unknown YAML tag !{suffix} at line {node.start_mark.line + 1}")


for _short, _long in _SHORT_TAGS.items():
    _CfnLoader.add_constructor(f"!{_short}", _tag_constructor(_long))
_CfnLoader.add_multi_constructor("!", _unknown_tag)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"cannot parse {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{path} is not a template (top level must be a mapping)")
    return data


# --------------------------------------------------------------------------------------------------
# Parameters from the command line and samconfig


_KEY_VALUE_LONG = re.compile(r"ParameterKey=([^,]+),ParameterValue=(.*)", re.DOTALL)


def parse_parameter_overrides(value: str | Iterable[str] | None) -> dict[str, str]:
    """Parse SAM's ``parameter_overrides``: ``"K=V K2='v 2'"``, a list of such strings, or the
    ``ParameterKey=K,ParameterValue=V`` form. Values keep everything after the first ``=``."""
    if value is None:
        return {}
    chunks = [value] if isinstance(value, str) else list(value)
    out: dict[str, str] = {}
    for chunk in chunks:
        for token in shlex.split(chunk):
            if m := _KEY_VALUE_LONG.fullmatch(token):
                out[m.group(1)] = m.group(2)
            elif "=" in token:
                key, val = token.split("=", 1)
                out[key] = val
            else:
                raise TemplateError(f"parameter override {token!r} is not KEY=VALUE")
    return out


def read_samconfig(path: str | os.PathLike[str], config_env: str = "default",
                   commands: Iterable[str] = ("deploy",)) -> dict[str, Any]:
    """Read one environment of a ``samconfig.toml`` (or ``.yaml``) file.

    Returns the merged ``parameters`` tables of ``[<env>.global.parameters]`` and, overriding them, of
    each command in ``commands`` (later ones win), with ``parameter_overrides`` already parsed to a dict.
    A missing file or environment yields ``{}``.
    """
    file = Path(path)
    if not file.is_file():
        return {}
    text = file.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if file.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot parse {file}: {exc}") from exc
    env = (data or {}).get(config_env)
    if not isinstance(env, dict):
        log.info("samconfig %s has no environment %r", file, config_env)
        return {}
    merged: dict[str, Any] = {}
    for command in ("global", *commands):
        section = env.get(command, {})
        params = section.get("parameters", {}) if isinstance(section, dict) else {}
        merged.update(params)
    if "parameter_overrides" in merged:
        merged["parameter_overrides"] = parse_parameter_overrides(merged["parameter_overrides"])
    return merged


# --------------------------------------------------------------------------------------------------
# Resolver context: what Ref / GetAtt return


@dataclass(frozen=True)
class DeployedResource:
    """A created resource: what ``!Ref`` returns and the ``!GetAtt`` attributes known for it."""

    logical_id: str
    resource_type: str
    physical_id: str
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolverContext:
    """Pseudo parameters plus the resources deploy created (``deployed``); anything not deployed is
    predicted from the naming rules :mod:`local_runtime.deploy.deployer` uses."""

    region: str = DEFAULT_REGION
    account_id: str = MOTO_ACCOUNT_ID
    stack_name: str = DEFAULT_STACK_NAME
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"
    endpoint_url: str | None = None  # lets us predict SQS queue URLs before deploy
    deployed: Mapping[str, DeployedResource] = field(default_factory=dict)


# The property holding a resource's declared physical name, per type.
NAME_PROPERTY: dict[str, str] = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Kinesis::Stream": "Name",
    "AWS::MSK::Cluster": "ClusterName",
    "AWS::MSK::ServerlessCluster": "ClusterName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SSM::Parameter": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Serverless::StateMachine": "Name",
}

TABLE_TYPES = frozenset({"AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", "AWS::Serverless::SimpleTable"})
FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
LAYER_TYPES = frozenset({"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"})
_MSK_TYPES = frozenset({"AWS::MSK::Cluster", "AWS::MSK::ServerlessCluster"})
# SAM-generated resources that templates may reference without declaring them.
_IMPLICIT_SAM = re.compile(r"ServerlessRestApi|ServerlessHttpApi|ServerlessDeploymentBucket|.+Role")


def generated_name(logical_id: str, resource_type: str, stack_name: str, properties: Mapping[str, Any]) -> str:
    """The physical name deploy gives a resource that declares none: ``<stack>-<LogicalId>``.

    CloudFormation appends a random suffix; locally a stable name is more useful (re-runs find the same
    resources). Per-service rules: bucket names are lower case and at most 63 characters, FIFO queues and
    topics end in ``.fifo``.
    """
    name = f"{stack_name}-{logical_id}"
    if resource_type == "AWS::S3::Bucket":
        return re.sub(r"[^a-z0-9.-]", "-", name.lower())[:63].strip("-.")
    fifo = _truthy(properties.get("FifoQueue")) or _truthy(properties.get("FifoTopic"))
    if resource_type == "AWS::SQS::Queue":
        return name[: 80 - 5] + ".fifo" if fifo else name[:80]
    if resource_type == "AWS::SNS::Topic":
        return name[: 256 - 5] + ".fifo" if fifo else name[:256]
    if resource_type in FUNCTION_TYPES:
        return name[:64]
    return name[:255]


def predict_resource(logical_id: str, resource_type: str, name: str, ctx: ResolverContext) -> DeployedResource:
    """What Ref / GetAtt return for a resource named ``name`` before it exists (ARNs follow AWS's
    formats in ``ctx``'s region and account). Attributes that AWS invents at creation time (a stream
    label) are absent: asking for them raises :class:`UnresolvedAttributeError`."""
    p, r, a = ctx.partition, ctx.region, ctx.account_id
    attrs: dict[str, str] = {}
    ref = name
    if resource_type in TABLE_TYPES:
        attrs["Arn"] = f"arn:{p}:dynamodb:{r}:{a}:table/{name}"
    elif resource_type == "AWS::SNS::Topic":
        ref = f"arn:{p}:sns:{r}:{a}:{name}"
        attrs |= {"TopicArn": ref, "TopicName": name}
    elif resource_type == "AWS::SQS::Queue":
        base = ctx.endpoint_url.rstrip("/") if ctx.endpoint_url else f"https://sqs.{r}.{ctx.url_suffix}"
        ref = f"{base}/{a}/{name}"
        attrs |= {"Arn": f"arn:{p}:sqs:{r}:{a}:{name}", "QueueName": name, "QueueUrl": ref}
    elif resource_type == "AWS::S3::Bucket":
        attrs |= {
            "Arn": f"arn:{p}:s3:::{name}",
            "DomainName": f"{name}.s3.{ctx.url_suffix}",
            "RegionalDomainName": f"{name}.s3.{r}.{ctx.url_suffix}",
            "WebsiteURL": f"http://{name}.s3-website-{r}.{ctx.url_suffix}",
        }
    elif resource_type in FUNCTION_TYPES:
        attrs["Arn"] = f"arn:{p}:lambda:{r}:{a}:function:{name}"
    elif resource_type in LAYER_TYPES:
        ref = f"arn:{p}:lambda:{r}:{a}:layer:{name}:1"
    elif resource_type == "AWS::IAM::Role":
        role_id = f"AROA{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:17].upper()}"
        attrs |= {"Arn": f"arn:{p}:iam::{a}:role/{name}", "RoleId": role_id}
    elif resource_type in _MSK_TYPES:
        ref = f"arn:{p}:kafka:{r}:{a}:cluster/{name}/{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
        attrs["Arn"] = ref
    elif resource_type == "AWS::Lambda::EventSourceMapping":
        ref = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.stack_name}/{logical_id}"))
        attrs["Id"] = ref
    elif resource_type in ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine",
                           "AWS::SecretsManager::Secret"):
        service = "states" if "StateMachine" in resource_type else "secretsmanager"
        kind = "stateMachine" if service == "states" else "secret"
        ref = f"arn:{p}:{service}:{r}:{a}:{kind}:{name}"
        attrs |= {"Arn": ref, "Name": name}
    else:
        service = resource_type.split("::")[1].lower() if resource_type.count("::") >= 2 else "unknown"
        attrs["Arn"] = f"arn:{p}:{service}:{r}:{a}:{name}"
    return DeployedResource(logical_id, resource_type, name, ref, attrs)


# --------------------------------------------------------------------------------------------------
# Public views


@dataclass(frozen=True)
class FunctionSpec:
    """A function as the local invoker needs it, every intrinsic resolved.

    ``layers`` are local directories to put on ``sys.path`` (from layers declared in the same template);
    ``layer_arns`` are layers referenced by ARN, which cannot be loaded locally.
    ``code_uri`` is ``None`` for code that is not on disk (S3 locations, images); ``inline_code`` holds
    ``InlineCode`` / ``Code.ZipFile`` source.
    """

    logical_id: str
    name: str
    handler: str
    code_uri: Path | None
    runtime: str
    timeout: float
    memory: int
    environment: Mapping[str, str]
    layers: tuple[Path, ...] = ()
    layer_arns: tuple[str, ...] = ()
    inline_code: str | None = None
    arn: str = ""
    architectures: tuple[str, ...] = ("x86_64",)


class Resource:
    """A resource whose Condition holds: logical id, type, condition name and lazily resolved properties.

    ``raw_properties`` are the template's properties after SAM Globals were merged in, intrinsics intact.
    """

    def __init__(self, template: Template, logical_id: str, definition: Mapping[str, Any]) -> None:
        self._template = template
        self.logical_id = logical_id
        self.type: str = definition["Type"]
        self.condition: str | None = definition.get("Condition")
        self.raw_properties: Mapping[str, Any] = definition.get("Properties") or {}
        self.metadata: Mapping[str, Any] = definition.get("Metadata") or {}
        depends = definition.get("DependsOn") or ()
        self.depends_on: tuple[str, ...] = (depends,) if isinstance(depends, str) else tuple(depends)

    @property
    def path(self) -> str:
        return f"Resources.{self.logical_id}"

    @cached_property
    def properties(self) -> dict[str, Any]:
        """All properties, resolved (raises :class:`TemplateError` on the first unresolvable value)."""
        return self._template.resolve(dict(self.raw_properties), f"{self.path}.Properties")

    def prop(self, key: str, default: Any = None) -> Any:
        """One property, resolved on its own (others may not be resolvable yet)."""
        if key not in self.raw_properties:
            return default
        value = self._template.resolve(self.raw_properties[key], f"{self.path}.Properties.{key}")
        return default if value is None else value

    def __repr__(self) -> str:
        return f"Resource({self.logical_id!r}, {self.type!r})"


# --------------------------------------------------------------------------------------------------
# The template


_NO_VALUE = object()  # what AWS::NoValue resolves to: the enclosing key / item disappears
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
_PSEUDO = (
    "AWS::Region AWS::AccountId AWS::StackName AWS::StackId AWS::Partition AWS::URLSuffix "
    "AWS::NoValue AWS::NotificationARNs"
).split()
_GLOBALS_TARGETS = {
    "Function": "AWS::Serverless::Function",
    "Api": "AWS::Serverless::Api",
    "HttpApi": "AWS::Serverless::HttpApi",
    "SimpleTable": "AWS::Serverless::SimpleTable",
    "StateMachine": "AWS::Serverless::StateMachine",
    "LayerVersion": "AWS::Serverless::LayerVersion",
}


class Template:
    """An evaluated template. Build it with :func:`load_template`; bind deployed resources with
    :meth:`bind`."""

    def __init__(self, data: Mapping[str, Any], *, path: Path, parameters: Mapping[str, str | None],
                 context: ResolverContext) -> None:
        self.data = data
        self.path = path
        self.base_dir = path.parent
        self.context = context
        self._param_decls: Mapping[str, Mapping[str, Any]] = data.get("Parameters") or {}
        self._param_values = dict(parameters)
        self._condition_decls: Mapping[str, Any] = data.get("Conditions") or {}
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self._mappings: Mapping[str, Any] = data.get("Mappings") or {}
        raw_resources = data.get("Resources")
        if not isinstance(raw_resources, dict) or not raw_resources:
            raise TemplateError("template has no Resources", "Resources")
        self._all_resources: Mapping[str, Mapping[str, Any]] = raw_resources
        self.resources: dict[str, Resource] = {}
        self.dropped: dict[str, str] = {}  # logical id -> the false condition that dropped it
        globals_ = data.get("Globals") or {}
        for logical_id, definition in raw_resources.items():
            rpath = f"Resources.{logical_id}"
            if logical_id.startswith("Fn::ForEach"):
                raise TemplateError("Fn::ForEach (AWS::LanguageExtensions) is not supported locally", rpath)
            if not isinstance(definition, dict) or "Type" not in definition:
                raise TemplateError("resource has no Type", rpath)
            condition = definition.get("Condition")
            if condition is not None and not self.condition(condition, f"{rpath}.Condition"):
                self.dropped[logical_id] = condition
                continue
            self.resources[logical_id] = Resource(self, logical_id, _apply_globals(definition, globals_))
        self._check_rules()

    def _check_rules(self) -> None:
        """Evaluate ``Rules`` as CloudFormation does before creating a stack: a failed assertion is an error."""
        for name, rule in (self.data.get("Rules") or {}).items():
            path = f"Rules.{name}"
            try:
                if "RuleCondition" in rule and not self._condition_value(rule["RuleCondition"],
                                                                         f"{path}.RuleCondition"):
                    continue
                for i, assertion in enumerate(rule.get("Assertions") or ()):
                    apath = f"{path}.Assertions[{i}].Assert"
                    if not self._condition_value(assertion.get("Assert"), apath):
                        raise TemplateError(assertion.get("AssertDescription") or "rule assertion failed", apath)
            except TemplateError as exc:
                if "not supported locally" not in exc.reason:
                    raise
                log.warning("rule %s not checked: %s", name, exc)

    # ---- construction helpers

    def bind(self, deployed: Any) -> Template:
        """A copy of this template whose resolver knows the real ids of ``deployed`` resources: a
        :class:`~local_runtime.deploy.deployer.Deployment`, its ``resources`` mapping, or an iterable of
        :class:`DeployedResource`."""
        deployed = getattr(deployed, "resources", deployed)
        items: Iterable[DeployedResource] = deployed.values() if isinstance(deployed, Mapping) else deployed
        merged = {**self.context.deployed, **{d.logical_id: d for d in items}}
        return self.with_context(replace(self.context, deployed=merged))

    def with_context(self, context: ResolverContext) -> Template:
        """A copy of this template evaluated against another context (region, account, deployed...)."""
        return Template(self.data, path=self.path, parameters=self._param_values, context=context)

    # ---- parameters and conditions

    @property
    def parameters(self) -> dict[str, str | None]:
        """Effective parameter values (override, else Default; ``None`` when neither exists)."""
        return dict(self._param_values)

    def condition(self, name: str, path: str = "Conditions") -> bool:
        """Evaluate a named condition (memoised; cycles are an error)."""
        if name in self._conditions:
            return self._conditions[name]
        if name not in self._condition_decls:
            raise TemplateError(f"unknown condition {name!r}", path)
        if name in self._evaluating:
            raise TemplateError(f"condition {name!r} depends on itself", path)
        self._evaluating.add(name)
        try:
            value = self._condition_value(self._condition_decls[name], f"Conditions.{name}")
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = value
        return value

    @property
    def conditions(self) -> dict[str, bool]:
        """Every declared condition, evaluated."""
        return {name: self.condition(name) for name in self._condition_decls}

    # ---- resolution

    def resolve(self, value: Any, path: str = "") -> Any:
        """Resolve every intrinsic function in ``value``; ``AWS::NoValue`` at the top becomes ``None``."""
        result = self._resolve(value, path)
        return None if result is _NO_VALUE else result

    def _resolve(self, value: Any, path: str) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref":
                    return self._ref(arg, f"{path}.Ref")
                if key.startswith("Fn::"):
                    fn = _INTRINSICS.get(key)
                    if fn is None:
                        raise TemplateError(f"intrinsic function {key} is not supported locally", path)
                    return fn(self, arg, f"{path}.{key}")
            out = {}
            for key, item in value.items():
                resolved = self._resolve(item, f"{path}.{key}" if path else str(key))
                if resolved is not _NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            items = (self._resolve(item, f"{path}[{i}]") for i, item in enumerate(value))
            return [item for item in items if item is not _NO_VALUE]
        return value

    def _condition_value(self, expr: Any, path: str) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            ((key, arg),) = expr.items()
            if key == "Condition":
                return self.condition(arg, f"{path}.Condition")
            if key in _BOOLEAN_FUNCTIONS:
                return bool(_INTRINSICS[key](self, arg, f"{path}.{key}"))
        if isinstance(expr, bool):
            return expr
        if isinstance(expr, str) and expr.lower() in ("true", "false"):
            return expr.lower() == "true"
        raise TemplateError("not a condition (expected Fn::Equals/Not/And/Or or Condition)", path)

    def _ref(self, name: Any, path: str) -> Any:
        if not isinstance(name, str):
            raise TemplateError("Ref takes a parameter or resource name", path)
        ctx = self.context
        pseudo = {
            "AWS::Region": ctx.region,
            "AWS::AccountId": ctx.account_id,
            "AWS::StackName": ctx.stack_name,
            "AWS::StackId": f"arn:{ctx.partition}:cloudformation:{ctx.region}:{ctx.account_id}:stack/"
            f"{ctx.stack_name}/{uuid.uuid5(uuid.NAMESPACE_URL, ctx.stack_name)}",
            "AWS::Partition": ctx.partition,
            "AWS::URLSuffix": ctx.url_suffix,
            "AWS::NoValue": _NO_VALUE,
            "AWS::NotificationARNs": [],
        }
        if name in pseudo:
            return pseudo[name]
        if name in self._param_decls:
            return self._parameter(name, path)
        return self.resource_info(name, path).ref

    def _parameter(self, name: str, path: str) -> Any:
        decl = self._param_decls[name] or {}
        value = self._param_values.get(name)
        if value is None:
            hint = f"pass --parameter-overrides {name}=..."
            if str(decl.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
                raise TemplateError(f"parameter {name!r} is an SSM parameter, which cannot be read locally; {hint}",
                                    path)
            raise TemplateError(f"parameter {name!r} has no Default and no override; {hint}", path)
        ptype = str(decl.get("Type", "String"))
        if ptype == "CommaDelimitedList" or ptype.startswith("List<"):
            return [item.strip() for item in value.split(",")] if value else []
        return value

    def resource_info(self, logical_id: str, path: str = "") -> DeployedResource:
        """What Ref / GetAtt see for ``logical_id``: the deployed resource, else the prediction."""
        if logical_id in self.context.deployed:
            return self.context.deployed[logical_id]
        resource = self.resources.get(logical_id)
        if resource is None:
            if logical_id in self.dropped:
                raise TemplateError(f"{logical_id!r} is not created: its condition "
                                    f"{self.dropped[logical_id]!r} is false", path)
            if _IMPLICIT_SAM.fullmatch(logical_id):
                return predict_resource(logical_id, "AWS::SAM::Implicit", f"{self.context.stack_name}-{logical_id}",
                                        self.context)
            raise TemplateError(f"Ref to unknown parameter or resource {logical_id!r}", path)
        return predict_resource(logical_id, resource.type, self.physical_name(logical_id), self.context)

    def physical_name(self, logical_id: str) -> str:
        """The physical name of a resource: its declared name property, else :func:`generated_name`."""
        if logical_id in self.context.deployed:
            return self.context.deployed[logical_id].physical_id
        resource = self.resources[logical_id]
        prop = NAME_PROPERTY.get(resource.type)
        declared = resource.prop(prop) if prop else None
        if declared:
            return str(declared)
        return generated_name(logical_id, resource.type, self.context.stack_name, resource.raw_properties)

    def _getatt(self, logical_id: str, attribute: str, path: str) -> str:
        info = self.resource_info(logical_id, path)
        if attribute in info.attributes:
            return info.attributes[attribute]
        resource = self.resources.get(logical_id)
        rtype = resource.type if resource else info.resource_type
        if attribute in ("StreamArn", "LatestStreamArn") and rtype in TABLE_TYPES:
            raise UnresolvedAttributeError(
                f"{logical_id}.{attribute} exists only after deploy (bind the deployment first)", path)
        raise TemplateError(f"attribute {attribute!r} of {logical_id} ({rtype}) is not known locally", path)

    # ---- public views

    def outputs(self) -> dict[str, Any]:
        """Resolved ``Outputs`` values whose condition holds."""
        out: dict[str, Any] = {}
        for name, decl in (self.data.get("Outputs") or {}).items():
            path = f"Outputs.{name}"
            if decl.get("Condition") and not self.condition(decl["Condition"], f"{path}.Condition"):
                continue
            out[name] = self.resolve(decl.get("Value"), f"{path}.Value")
        return out

    def functions(self) -> list[FunctionSpec]:
        """Every ``AWS::Serverless::Function`` and ``AWS::Lambda::Function`` (zip or inline code)."""
        return [self._function_spec(r) for r in self.resources.values() if r.type in FUNCTION_TYPES]

    def function(self, name: str) -> FunctionSpec:
        """One function by logical id or physical name (only that function's properties are resolved)."""
        candidates = [r for r in self.resources.values() if r.type in FUNCTION_TYPES]
        for resource in candidates:
            if name == resource.logical_id:
                return self._function_spec(resource)
        for resource in candidates:
            if name == self.physical_name(resource.logical_id):
                return self._function_spec(resource)
        known = ", ".join(r.logical_id for r in self.resources.values() if r.type in FUNCTION_TYPES)
        raise TemplateError(f"no function {name!r} in {self.path.name} (functions: {known or 'none'})")

    def event_source_mappings(self) -> list[MappingSpec]:
        """Kafka (MSK, self-managed) and DynamoDB Streams mappings, from SAM ``Events`` and from
        ``AWS::Lambda::EventSourceMapping`` resources, with AWS defaults applied. Mappings of other
        sources (SQS, Kinesis, ...) are not emulated and left out."""
        specs: list[MappingSpec] = []
        for resource in self.resources.values():
            if resource.type == "AWS::Serverless::Function":
                for event_name, event in (resource.raw_properties.get("Events") or {}).items():
                    epath = f"{resource.path}.Properties.Events.{event_name}"
                    etype = event.get("Type") if isinstance(event, dict) else None
                    if etype in ("MSK", "SelfManagedKafka", "DynamoDB"):
                        specs.append(_mapping_from_sam_event(self, resource, event_name, event, epath))
            elif resource.type == "AWS::Lambda::EventSourceMapping":
                spec = _mapping_from_resource(self, resource)
                if spec is not None:
                    specs.append(spec)
        return specs

    # ---- functions

    def _function_spec(self, res: Resource) -> FunctionSpec:
        name = self.physical_name(res.logical_id)
        ppath = f"{res.path}.Properties"
        handler = res.prop("Handler")
        code_uri: Path | None = None
        inline: str | None = None
        if res.type == "AWS::Serverless::Function":
            code = res.prop("CodeUri")
            inline = res.prop("InlineCode")
            if isinstance(code, str):
                code_uri = (self.base_dir / code).resolve()
        else:
            code = res.prop("Code")
            if isinstance(code, str):  # `aws cloudformation package` style local path
                code_uri = (self.base_dir / code).resolve()
            elif isinstance(code, dict):
                inline = code.get("ZipFile")
        if res.prop("PackageType") == "Image":
            code_uri = None
        if code_uri is not None and not code_uri.is_dir():
            raise TemplateError(f"code directory {code_uri} does not exist", f"{ppath}.CodeUri")
        if not handler and (code_uri or inline):
            raise TemplateError("function has no Handler", f"{ppath}.Handler")
        env = res.prop("Environment") or {}
        variables = env.get("Variables") or {}
        layers, layer_arns = self._function_layers(res)
        info = self.resource_info(res.logical_id)
        return FunctionSpec(
            logical_id=res.logical_id,
            name=name,
            handler=str(handler or ""),
            code_uri=code_uri,
            runtime=str(res.prop("Runtime") or ""),
            timeout=float(res.prop("Timeout", 3)),
            memory=int(res.prop("MemorySize", 128)),
            environment={str(k): _to_str(v, f"{ppath}.Environment.Variables.{k}") for k, v in variables.items()},
            layers=tuple(layers),
            layer_arns=tuple(layer_arns),
            inline_code=inline,
            arn=info.attributes.get("Arn", ""),
            architectures=tuple(res.prop("Architectures") or ("x86_64",)),
        )

    def _function_layers(self, res: Resource) -> tuple[list[Path], list[str]]:
        refs_to_layer = {
            self.resource_info(lid).ref: lid for lid, r in self.resources.items() if r.type in LAYER_TYPES
        }
        paths: list[Path] = []
        arns: list[str] = []
        for i, raw in enumerate(res.raw_properties.get("Layers") or ()):
            lpath = f"{res.path}.Properties.Layers[{i}]"
            value = self.resolve(raw, lpath)
            if value is None:
                continue
            layer_id = refs_to_layer.get(str(value))
            if layer_id is None:
                arns.append(str(value))
                continue
            paths.extend(self._layer_dirs(self.resources[layer_id], lpath))
        return paths, arns

    def _layer_dirs(self, layer: Resource, path: str) -> list[Path]:
        prop = "ContentUri" if layer.type == "AWS::Serverless::LayerVersion" else "Content"
        content = layer.prop(prop)
        if not isinstance(content, str):
            raise TemplateError(f"layer {layer.logical_id} has no local {prop}", path)
        root = (self.base_dir / content).resolve()
        if not root.is_dir():
            raise TemplateError(f"layer directory {root} does not exist", f"{layer.path}.Properties.{prop}")
        build_method = str((layer.metadata or {}).get("BuildMethod", ""))
        # `sam build` with a pythonX BuildMethod copies ContentUri into python/; otherwise the directory is
        # taken as is and the runtime looks in /opt/python. Mirror both layouts.
        if build_method.startswith("python") or not (root / "python").is_dir():
            return [root]
        dirs = [root / "python"]
        dirs += sorted((root / "python" / "lib").glob("python3*/site-packages"))
        return dirs


# --------------------------------------------------------------------------------------------------
# Intrinsic functions


def _to_str(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"expected a string, got {type(value).__name__}: {value!r}", path)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _expect_list(value: Any, size: int | tuple[int, int], name: str, path: str) -> list[Any]:
    lo, hi = size if isinstance(size, tuple) else (size, size)
    if not isinstance(value, list) or not lo <= len(value) <= hi:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise TemplateError(f"{name} takes a list of {want} items", path)
    return value


def _fn_getatt(t: Template, arg: Any, path: str) -> str:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    logical_id, attribute = _expect_list(arg, 2, "Fn::GetAtt", path)
    return t._getatt(logical_id, _to_str(t.resolve(attribute, path), path), path)


def _fn_sub(t: Template, arg: Any, path: str) -> str:
    if isinstance(arg, str):
        text, variables = arg, {}
    else:
        text, raw_vars = _expect_list(arg, 2, "Fn::Sub", path)
        variables = t.resolve(raw_vars, f"{path}[1]") or {}
    if not isinstance(text, str):
        raise TemplateError("Fn::Sub needs a string", path)

    def replace_var(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("!"):  # ${!Literal} is written out as ${Literal}
            return "${" + expr[1:] + "}"
        expr = expr.strip()
        if expr in variables:
            value = variables[expr]
        elif "." in expr and not expr.startswith("AWS::"):
            logical_id, attribute = expr.split(".", 1)
            value = t._getatt(logical_id, attribute, path)
        else:
            value = t._ref(expr, path)
        if isinstance(value, list):
            raise TemplateError(f"${{{expr}}} is a list; Fn::Sub needs a string (use Fn::Join)", path)
        return _to_str(value, path)

    return _SUB_VAR.sub(replace_var, text)


def _fn_join(t: Template, arg: Any, path: str) -> str:
    delimiter, items = _expect_list(arg, 2, "Fn::Join", path)
    values = t.resolve(items, f"{path}[1]")
    if not isinstance(values, list):
        raise TemplateError("Fn::Join needs a list of values", path)
    return _to_str(delimiter, path).join(_to_str(v, f"{path}[1]") for v in values)


def _fn_select(t: Template, arg: Any, path: str) -> Any:
    index, items = _expect_list(arg, 2, "Fn::Select", path)
    idx = int(_to_str(t.resolve(index, f"{path}[0]"), path))
    values = t.resolve(items, f"{path}[1]")
    if not isinstance(values, list) or not 0 <= idx < len(values):
        raise TemplateError(f"Fn::Select index {idx} is out of range", path)
    return values[idx]


def _fn_split(t: Template, arg: Any, path: str) -> list[str]:
    delimiter, source = _expect_list(arg, 2, "Fn::Split", path)
    return _to_str(t.resolve(source, f"{path}[1]"), path).split(_to_str(delimiter, path))


def _fn_find_in_map(t: Template, arg: Any, path: str) -> Any:
    items = _expect_list(arg, (3, 4), "Fn::FindInMap", path)
    keys = [_to_str(t.resolve(k, f"{path}[{i}]"), path) for i, k in enumerate(items[:3])]
    node: Any = t._mappings
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            if len(items) == 4 and isinstance(items[3], dict) and "DefaultValue" in items[3]:
                return t.resolve(items[3]["DefaultValue"], f"{path}[3]")
            raise TemplateError(f"Mappings has no {'.'.join(keys)}", path)
        node = node[key]
    return node


def _fn_if(t: Template, arg: Any, path: str) -> Any:
    name, when_true, when_false = _expect_list(arg, 3, "Fn::If", path)
    # Only the chosen branch is resolved: the other may name resources its condition dropped.
    if t.condition(name, f"{path}[0]"):
        return t._resolve(when_true, f"{path}[1]")
    return t._resolve(when_false, f"{path}[2]")


def _comparable(value: Any, path: str) -> Any:
    return [_comparable(v, path) for v in value] if isinstance(value, list) else _to_str(value, path)


def _fn_equals(t: Template, arg: Any, path: str) -> bool:
    left, right = _expect_list(arg, 2, "Fn::Equals", path)
    return _comparable(t.resolve(left, f"{path}[0]"), path) == _comparable(t.resolve(right, f"{path}[1]"), path)


def _fn_not(t: Template, arg: Any, path: str) -> bool:
    (expr,) = _expect_list(arg, 1, "Fn::Not", path)
    return not t._condition_value(expr, f"{path}[0]")


def _fn_and(t: Template, arg: Any, path: str) -> bool:
    items = _expect_list(arg, (2, 10), "Fn::And", path)
    return all(t._condition_value(e, f"{path}[{i}]") for i, e in enumerate(items))


def _fn_or(t: Template, arg: Any, path: str) -> bool:
    items = _expect_list(arg, (2, 10), "Fn::Or", path)
    return any(t._condition_value(e, f"{path}[{i}]") for i, e in enumerate(items))


def _fn_import_value(t: Template, arg: Any, path: str) -> Any:
    raise TemplateError(
        "Fn::ImportValue is not supported locally (there are no other stacks to export values); "
        "turn the imported value into a Parameter and pass it with --parameter-overrides", path)


def _fn_base64(t: Template, arg: Any, path: str) -> str:
    return base64.b64encode(_to_str(t.resolve(arg, path), path).encode()).decode()


def _fn_get_azs(t: Template, arg: Any, path: str) -> list[str]:
    region = _to_str(t.resolve(arg, path), path) or t.context.region
    return [f"{region}{zone}" for zone in "abc"]


def _fn_length(t: Template, arg: Any, path: str) -> int:
    value = t.resolve(arg, path)
    if not isinstance(value, list):
        raise TemplateError("Fn::Length needs a list", path)
    return len(value)


def _fn_to_json_string(t: Template, arg: Any, path: str) -> str:
    return json.dumps(t.resolve(arg, path), separators=(",", ":"))


def _member_list(t: Template, arg: Any, name: str, path: str) -> tuple[list[str], Any]:
    items, other = _expect_list(arg, 2, name, path)
    values = t.resolve(items, f"{path}[0]")
    if not isinstance(values, list):
        raise TemplateError(f"{name} needs a list as its first argument", path)
    return [_to_str(v, path) for v in values], t.resolve(other, f"{path}[1]")


def _fn_contains(t: Template, arg: Any, path: str) -> bool:
    values, wanted = _member_list(t, arg, "Fn::Contains", path)
    return _to_str(wanted, path) in values


def _fn_each_member_equals(t: Template, arg: Any, path: str) -> bool:
    values, wanted = _member_list(t, arg, "Fn::EachMemberEquals", path)
    return all(v == _to_str(wanted, path) for v in values)


def _fn_each_member_in(t: Template, arg: Any, path: str) -> bool:
    values, allowed = _member_list(t, arg, "Fn::EachMemberIn", path)
    allowed_set = {_to_str(a, path) for a in (allowed if isinstance(allowed, list) else [allowed])}
    return all(v in allowed_set for v in values)


_BOOLEAN_FUNCTIONS = frozenset(
    {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Fn::Contains", "Fn::EachMemberEquals", "Fn::EachMemberIn"})

_INTRINSICS: dict[str, Callable[[Template, Any, str], Any]] = {
    "Fn::Contains": _fn_contains,
    "Fn::EachMemberEquals": _fn_each_member_equals,
    "Fn::EachMemberIn": _fn_each_member_in,
    "Fn::GetAtt": _fn_getatt,
    "Fn::Sub": _fn_sub,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::Not": _fn_not,
    "Fn::And": _fn_and,
    "Fn::Or": _fn_or,
    "Fn::ImportValue": _fn_import_value,
    "Fn::Base64": _fn_base64,
    "Fn::GetAZs": _fn_get_azs,
    "Fn::Length": _fn_length,
    "Fn::ToJsonString": _fn_to_json_string,
}


# --------------------------------------------------------------------------------------------------
# SAM Globals


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def _merge_global(global_value: Any, local_value: Any) -> Any:
    """SAM's rules: maps merge (the resource wins per key), lists concatenate (globals first),
    anything else - intrinsics included - is overridden by the resource."""
    if _is_intrinsic(global_value) or _is_intrinsic(local_value):
        return local_value
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_global(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def _apply_globals(definition: Mapping[str, Any], globals_: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(definition)
    for section, rtype in _GLOBALS_TARGETS.items():
        if definition["Type"] == rtype and isinstance(globals_.get(section), dict):
            merged["Properties"] = _merge_global(globals_[section], definition.get("Properties") or {})
    return merged


# --------------------------------------------------------------------------------------------------
# Event-source mappings


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
    "SelfManagedEventSource",
}


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
    value = _to_str(t.resolve(raw, path), path)
    # A name, a full or partial ARN, possibly qualified (":alias"): compare the function-name part.
    name = value.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in value else value.split(":")[0]
    for lid, res in t.resources.items():
        if res.type in FUNCTION_TYPES and t.physical_name(lid) == name:
            return lid
    raise TemplateError(f"FunctionName {value!r} is not a function of this template", path)


def _int_in_range(value: Any, lo: int, hi: int, path: str) -> int:
    try:
        number = int(_to_str(value, path))
    except ValueError as exc:
        raise TemplateError(f"expected an integer, got {value!r}", path) from exc
    if not lo <= number <= hi:
        raise TemplateError(f"{number} is outside {lo}..{hi}", path)
    return number


def _bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TemplateError(f"expected true or false, got {value!r}", path)


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
                pattern = json.loads(pattern)
            except json.JSONDecodeError as exc:
                raise TemplateError(f"Pattern is not valid JSON: {exc}", f"{path}.Filters[{i}].Pattern") from exc
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
    destination = _to_str(t.resolve(raw["Destination"], f"{opath}.Destination"), f"{opath}.Destination")
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
        destination = t._getatt(target_ref[0], "Arn", opath)  # Ref of a queue is its URL; Lambda wants the ARN
    if kind == "kafka":
        destination = destination.removeprefix("kafka://")
    return OnFailureDestination(kind, destination)  # type: ignore[arg-type]


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
            fields[attr] = _int_in_range(value, lo, hi, f"{ppath}.{key}")
    if 0 <= fields.get("maximum_record_age_s", -1) < 60:
        raise TemplateError("MaximumRecordAgeInSeconds is -1 or 60..604800", f"{ppath}.MaximumRecordAgeInSeconds")
    default_window = 0.0 if kind == "DynamoDB" else 0.5
    window = get("MaximumBatchingWindowInSeconds")
    fields["maximum_batching_window_s"] = (default_window if window is None else float(
        _int_in_range(window, 0, 300, f"{ppath}.MaximumBatchingWindowInSeconds")))
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
        fields["bisect_batch_on_function_error"] = _bool(get("BisectBatchOnFunctionError"),
                                                         f"{ppath}.BisectBatchOnFunctionError")
    response_types = get("FunctionResponseTypes") or []
    fields["report_batch_item_failures"] = "ReportBatchItemFailures" in response_types
    fields["filter_patterns"] = _filter_patterns(get("FilterCriteria"), f"{ppath}.FilterCriteria")
    if "DestinationConfig" in props:
        fields["on_failure"] = _on_failure(t, props["DestinationConfig"], f"{ppath}.DestinationConfig")
    if "Enabled" in props:
        fields["enabled"] = _bool(get("Enabled"), f"{ppath}.Enabled")

    extra: dict[str, Any] = {"source": source, "resource_logical_id": resource_id}
    if kind in ("MSK", "SelfManagedKafka"):
        topics = get("Topics") or []
        if not isinstance(topics, list) or len(topics) != 1:
            raise TemplateError("a Kafka event-source mapping takes exactly one topic (Topics: [name])",
                                f"{ppath}.Topics")
        fields["topics"] = tuple(_to_str(x, f"{ppath}.Topics") for x in topics)
        if (group := get("ConsumerGroupId")) is not None:
            fields["consumer_group_id"] = _to_str(group, f"{ppath}.ConsumerGroupId")
        if kind == "MSK":
            fields["cluster_arn"] = _to_str(get("EventSourceArn"), f"{ppath}.EventSourceArn")
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
            fields["stream_arn"] = _to_str(get("EventSourceArn"), f"{ppath}.EventSourceArn")
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
        if rtype in _MSK_TYPES:
            return "MSK"
    try:
        arn = _to_str(t.resolve(raw, f"{ppath}.EventSourceArn"), f"{ppath}.EventSourceArn")
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
    if isinstance(raw.get(config_key), dict) and "ConsumerGroupId" in raw[config_key]:
        props["ConsumerGroupId"] = raw[config_key]["ConsumerGroupId"]
    if kind == "MSK" and "EventSourceArn" not in props:
        raise TemplateError("an MSK mapping needs EventSourceArn", f"{ppath}.EventSourceArn")
    function_id = _resolve_function_id(t, raw["FunctionName"], f"{ppath}.FunctionName")
    return _build_mapping(t, name=res.logical_id, function_id=function_id, kind=kind, props=props, ppath=ppath,
                          source="resource", resource_id=res.logical_id)


# --------------------------------------------------------------------------------------------------
# Loading


def _parameter_values(decls: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name, decl in decls.items():
        path = f"Parameters.{name}"
        decl = decl or {}
        if name in overrides:
            value: Any = overrides[name]
        elif "Default" in decl:
            value = decl["Default"]
            if isinstance(value, list):  # a CommaDelimitedList default written as a YAML list
                value = ",".join(str(v) for v in value)
        else:
            values[name] = None  # an error only if something refers to it
            continue
        value = _to_str(value, path)
        allowed = decl.get("AllowedValues")
        if allowed and value not in [_to_str(a, path) for a in allowed]:
            raise TemplateError(f"value {value!r} is not one of AllowedValues {allowed}", path)
        pattern = decl.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise TemplateError(f"value {value!r} does not match AllowedPattern {pattern!r}", path)
        values[name] = value
    unknown = sorted(set(overrides) - set(decls))
    if unknown:
        # sam deploy rejects these; locally a shared samconfig may carry extras, so only warn.
        log.warning("parameter overrides not declared in the template, ignored: %s", ", ".join(unknown))
    return values


def load_template(
    path: str | os.PathLike[str] = "template.yaml",
    *,
    parameter_overrides: Mapping[str, str] | str | Iterable[str] | None = None,
    config_env: str | None = None,
    config_file: str | os.PathLike[str] | None = None,
    region: str | None = None,
    account_id: str | None = None,
    stack_name: str | None = None,
    endpoint_url: str | None = None,
) -> Template:
    """Load and evaluate a SAM / CloudFormation template.

    Parameters
    ----------
    path:
        The template file (YAML or JSON).
    parameter_overrides:
        A dict, or SAM's ``"K=V K2=V2"`` string / list. Wins over samconfig, which wins over Defaults.
    config_env, config_file:
        Read ``parameter_overrides``, ``stack_name`` and ``region`` from this samconfig environment
        (``config_file`` defaults to ``samconfig.toml`` next to the template).
    region, account_id, stack_name:
        Pseudo parameters. ``region`` defaults to samconfig's, then ``AWS_REGION`` / ``AWS_DEFAULT_REGION``,
        then ``us-east-1``; ``account_id`` to moto's ``123456789012``; ``stack_name`` to samconfig, then
        ``local``.
    endpoint_url:
        The AWS endpoint resources will be created on (only used to predict SQS queue URLs).
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise TemplateError(f"template {file} not found")
    data = _read_yaml(file)
    samconfig: dict[str, Any] = {}
    if config_env:
        samconfig = read_samconfig(Path(config_file) if config_file else file.parent / "samconfig.toml", config_env)
    overrides: dict[str, str] = dict(samconfig.get("parameter_overrides") or {})
    if isinstance(parameter_overrides, Mapping):
        overrides.update({k: _to_str(v, f"parameter_overrides.{k}") for k, v in parameter_overrides.items()})
    else:
        overrides.update(parse_parameter_overrides(parameter_overrides))
    # As with the SAM CLI, samconfig values act like command-line options: they beat the environment.
    region = (region or samconfig.get("region") or os.environ.get("AWS_REGION")
              or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION)
    china = region.startswith("cn-")
    context = ResolverContext(
        region=region,
        account_id=account_id or MOTO_ACCOUNT_ID,
        stack_name=stack_name or samconfig.get("stack_name") or DEFAULT_STACK_NAME,
        partition="aws-cn" if china else "aws",
        url_suffix="amazonaws.com.cn" if china else "amazonaws.com",
        endpoint_url=endpoint_url,
    )
    parameters = _parameter_values(data.get("Parameters") or {}, overrides)
    return Template(data, path=file, parameters=parameters, context=context)
