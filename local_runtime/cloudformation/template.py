"""Load a SAM / CloudFormation template and evaluate it the way CloudFormation would, locally.

The pipeline is ``YAML (short-form tags) -> parameters -> conditions -> Globals -> lazy intrinsics``:

* :func:`load_template` reads the file (short-form tags such as ``!Sub`` become their long form
  ``{"Fn::Sub": ...}``), applies parameter defaults and overrides (a dict, or the ``parameter_overrides``
  of a ``samconfig.toml`` environment), drops resources whose ``Condition`` is false and merges SAM
  ``Globals`` into every serverless resource.
* Intrinsics are resolved *lazily*, when a value is asked for, against a :class:`ResolverContext`. Before
  deploy the context predicts physical names the way :mod:`local_runtime.deploy` will create them; after
  deploy, :meth:`Template.bind` gives it the real ones (queue URLs, stream ARNs...). Lazy resolution keeps
  an unrelated unsupported construct elsewhere in a third-party template from blocking what we need.
* :meth:`Template.functions` and :meth:`Template.event_source_mappings` are the views the rest of
  ``local_runtime`` consumes.

Every error is a :class:`TemplateError` whose message starts with the path in the template, e.g.
``Resources.Fn.Properties.Environment.Variables.TABLE.Fn::Sub: Ref to unknown parameter or resource 'X'``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from local_runtime.cloudformation.errors import TemplateError
from local_runtime.cloudformation.event_sources import event_source_mappings
from local_runtime.cloudformation.functions import FunctionSpec, function_spec
from local_runtime.cloudformation.intrinsics import NO_VALUE, condition_value, evaluate
from local_runtime.cloudformation.resources import (
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    FUNCTION_TYPES,
    IMPLICIT_SAM,
    MOTO_ACCOUNT_ID,
    NAME_PROPERTY,
    DeployedResource,
    ResolverContext,
    generated_name,
    predict_resource,
)
from local_runtime.cloudformation.sam_globals import apply_globals
from local_runtime.cloudformation.samconfig import parameter_values, parse_parameter_overrides, read_samconfig
from local_runtime.cloudformation.values import to_str
from local_runtime.cloudformation.yaml_tags import read_yaml
from local_runtime.esm.spec import MappingSpec

__all__ = ["Resource", "Template", "load_template"]

log = logging.getLogger(__name__)


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



class Template:
    """An evaluated template. Build it with :func:`load_template`; bind deployed resources with
    :meth:`bind`."""

    def __init__(self, data: Mapping[str, Any], *, path: Path, parameters: Mapping[str, str | None],
                 context: ResolverContext) -> None:
        self.data = data
        self.path = path
        self.base_dir = path.parent
        self.context = context
        self.parameter_declarations: Mapping[str, Mapping[str, Any]] = data.get("Parameters") or {}
        self._param_values = dict(parameters)
        self._condition_decls: Mapping[str, Any] = data.get("Conditions") or {}
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        raw_resources = data.get("Resources")
        if not isinstance(raw_resources, dict) or not raw_resources:
            raise TemplateError("template has no Resources", "Resources")
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
            self.resources[logical_id] = Resource(self, logical_id, apply_globals(definition, globals_))
        self._check_rules()

    def _check_rules(self) -> None:
        """Evaluate ``Rules`` as CloudFormation does before creating a stack: a failed assertion is an error."""
        for name, rule in (self.data.get("Rules") or {}).items():
            path = f"Rules.{name}"
            try:
                if "RuleCondition" in rule and not condition_value(self, rule["RuleCondition"],
                                                                   f"{path}.RuleCondition"):
                    continue
                for i, assertion in enumerate(rule.get("Assertions") or ()):
                    apath = f"{path}.Assertions[{i}].Assert"
                    if not condition_value(self, assertion.get("Assert"), apath):
                        raise TemplateError(assertion.get("AssertDescription") or "rule assertion failed", apath)
            except TemplateError as exc:
                if "not supported locally" not in exc.reason:
                    raise
                log.warning("rule %s not checked: %s", name, exc)

    # ---- construction helpers

    def bind(self, deployed: Any) -> Template:
        """A copy of this template whose resolver knows the real ids of ``deployed`` resources: a
        :class:`~local_runtime.deploy.Deployment`, its ``resources`` mapping, or an iterable of
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
            value = condition_value(self, self._condition_decls[name], f"Conditions.{name}")
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
        result = evaluate(self, value, path)
        return None if result is NO_VALUE else result

    def parameter_value(self, name: str, path: str) -> Any:
        """What ``Ref`` of a declared parameter returns (lists split); an error if it has no value."""
        decl = self.parameter_declarations[name] or {}
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
            if IMPLICIT_SAM.fullmatch(logical_id):
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
        return [function_spec(self, r) for r in self.resources.values() if r.type in FUNCTION_TYPES]

    def function(self, name: str) -> FunctionSpec:
        """One function by logical id or physical name (only that function's properties are resolved)."""
        candidates = [r for r in self.resources.values() if r.type in FUNCTION_TYPES]
        for resource in candidates:
            if name == resource.logical_id:
                return function_spec(self, resource)
        for resource in candidates:
            if name == self.physical_name(resource.logical_id):
                return function_spec(self, resource)
        known = ", ".join(r.logical_id for r in self.resources.values() if r.type in FUNCTION_TYPES)
        raise TemplateError(f"no function {name!r} in {self.path.name} (functions: {known or 'none'})")

    def event_source_mappings(self) -> list[MappingSpec]:
        """Kafka (MSK, self-managed) and DynamoDB Streams mappings, from SAM ``Events`` and from
        ``AWS::Lambda::EventSourceMapping`` resources, with AWS defaults applied. Mappings of other
        sources (SQS, Kinesis, ...) are not emulated and left out."""
        return event_source_mappings(self)


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
    data = read_yaml(file)
    samconfig: dict[str, Any] = {}
    if config_env:
        samconfig = read_samconfig(Path(config_file) if config_file else file.parent / "samconfig.toml", config_env)
    overrides: dict[str, str] = dict(samconfig.get("parameter_overrides") or {})
    if isinstance(parameter_overrides, Mapping):
        overrides.update({k: to_str(v, f"parameter_overrides.{k}") for k, v in parameter_overrides.items()})
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
    parameters = parameter_values(data.get("Parameters") or {}, overrides)
    return Template(data, path=file, parameters=parameters, context=context)
