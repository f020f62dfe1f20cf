"""SAM / CloudFormation templates evaluated locally: load, resolve intrinsics, and the views the runtime needs.

Modules, in pipeline order: :mod:`.yaml_tags` (short-form tags), :mod:`.samconfig` (parameter overrides
and values), :mod:`.sam_globals`, :mod:`.intrinsics` (and conditions), :mod:`.resources` (physical names,
what Ref / GetAtt return), :mod:`.functions` and :mod:`.event_sources` (the views), :mod:`.template`
(the :class:`Template` tying them together, and :func:`load_template`).
"""

from local_runtime.cloudformation.errors import TemplateError, UnresolvedAttributeError
from local_runtime.cloudformation.functions import FunctionSpec
from local_runtime.cloudformation.resources import (
    DeployedResource,
    ResolverContext,
    generated_name,
    predict_resource,
)
from local_runtime.cloudformation.samconfig import parse_parameter_overrides, read_samconfig
from local_runtime.cloudformation.template import Resource, Template, load_template

__all__ = [
    "DeployedResource",
    "FunctionSpec",
    "ResolverContext",
    "Resource",
    "Template",
    "TemplateError",
    "UnresolvedAttributeError",
    "generated_name",
    "load_template",
    "parse_parameter_overrides",
    "predict_resource",
    "read_samconfig",
]
