"""Intrinsic functions and conditions, evaluated against a :class:`~local_runtime.cloudformation.template.Template`.

:func:`evaluate` walks a raw value and resolves every ``Ref`` / ``Fn::*`` in it; :func:`condition_value`
evaluates a condition expression. Both are lazy by design: only what is asked for is resolved, so an
unsupported construct elsewhere in a third-party template does not block what we need.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from local_runtime.cloudformation.errors import TemplateError, UnresolvedAttributeError
from local_runtime.cloudformation.resources import TABLE_TYPES
from local_runtime.cloudformation.values import expect_list, to_str

if TYPE_CHECKING:
    from local_runtime.cloudformation.template import Template

__all__ = ["NO_VALUE", "condition_value", "evaluate", "getatt", "ref"]

NO_VALUE = object()  # what AWS::NoValue resolves to: the enclosing key / item disappears
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


def evaluate(t: Template, value: Any, path: str) -> Any:
    """``value`` with every intrinsic resolved; ``AWS::NoValue`` stays :data:`NO_VALUE` (callers drop it)."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return ref(t, arg, f"{path}.Ref")
            if key.startswith("Fn::"):
                fn = _INTRINSICS.get(key)
                if fn is None:
                    raise TemplateError(f"intrinsic function {key} is not supported locally", path)
                return fn(t, arg, f"{path}.{key}")
        out = {}
        for key, item in value.items():
            resolved = evaluate(t, item, f"{path}.{key}" if path else str(key))
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out
    if isinstance(value, list):
        items = (evaluate(t, item, f"{path}[{i}]") for i, item in enumerate(value))
        return [item for item in items if item is not NO_VALUE]
    return value


def condition_value(t: Template, expr: Any, path: str) -> bool:
    """A condition expression: ``Fn::Equals/Not/And/Or/Contains...``, ``Condition: Name`` or a literal."""
    if isinstance(expr, dict) and len(expr) == 1:
        ((key, arg),) = expr.items()
        if key == "Condition":
            return t.condition(arg, f"{path}.Condition")
        if key in _BOOLEAN_FUNCTIONS:
            return bool(_INTRINSICS[key](t, arg, f"{path}.{key}"))
    if isinstance(expr, bool):
        return expr
    if isinstance(expr, str) and expr.lower() in ("true", "false"):
        return expr.lower() == "true"
    raise TemplateError("not a condition (expected Fn::Equals/Not/And/Or or Condition)", path)


def ref(t: Template, name: Any, path: str) -> Any:
    """``Ref``: a pseudo parameter, a parameter's value, or a resource's ref (deployed or predicted)."""
    if not isinstance(name, str):
        raise TemplateError("Ref takes a parameter or resource name", path)
    ctx = t.context
    pseudo = {
        "AWS::Region": ctx.region,
        "AWS::AccountId": ctx.account_id,
        "AWS::StackName": ctx.stack_name,
        "AWS::StackId": f"arn:{ctx.partition}:cloudformation:{ctx.region}:{ctx.account_id}:stack/"
        f"{ctx.stack_name}/{uuid.uuid5(uuid.NAMESPACE_URL, ctx.stack_name)}",
        "AWS::Partition": ctx.partition,
        "AWS::URLSuffix": ctx.url_suffix,
        "AWS::NoValue": NO_VALUE,
        "AWS::NotificationARNs": [],
    }
    if name in pseudo:
        return pseudo[name]
    if name in t.parameter_declarations:
        return t.parameter_value(name, path)
    return t.resource_info(name, path).ref


def getatt(t: Template, logical_id: str, attribute: str, path: str) -> str:
    """``Fn::GetAtt``; a table's stream ARN before deploy raises :class:`UnresolvedAttributeError`."""
    info = t.resource_info(logical_id, path)
    if attribute in info.attributes:
        return info.attributes[attribute]
    resource = t.resources.get(logical_id)
    rtype = resource.type if resource else info.resource_type
    if attribute in ("StreamArn", "LatestStreamArn") and rtype in TABLE_TYPES:
        raise UnresolvedAttributeError(
            f"{logical_id}.{attribute} exists only after deploy (bind the deployment first)", path)
    raise TemplateError(f"attribute {attribute!r} of {logical_id} ({rtype}) is not known locally", path)


# ---------------------------------------------------------------------------------------------- Fn::*

def _fn_getatt(t: Template, arg: Any, path: str) -> str:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    logical_id, attribute = expect_list(arg, 2, "Fn::GetAtt", path)
    return getatt(t, logical_id, to_str(t.resolve(attribute, path), path), path)


def _fn_sub(t: Template, arg: Any, path: str) -> str:
    variables: dict[str, Any] = {}
    if isinstance(arg, str):
        text = arg
    else:
        text, raw_vars = expect_list(arg, 2, "Fn::Sub", path)
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
            value = getatt(t, logical_id, attribute, path)
        else:
            value = ref(t, expr, path)
        if isinstance(value, list):
            raise TemplateError(f"${{{expr}}} is a list; Fn::Sub needs a string (use Fn::Join)", path)
        return to_str(value, path)

    return _SUB_VAR.sub(replace_var, text)


def _fn_join(t: Template, arg: Any, path: str) -> str:
    delimiter, items = expect_list(arg, 2, "Fn::Join", path)
    values = t.resolve(items, f"{path}[1]")
    if not isinstance(values, list):
        raise TemplateError("Fn::Join needs a list of values", path)
    return to_str(delimiter, path).join(to_str(v, f"{path}[1]") for v in values)


def _fn_select(t: Template, arg: Any, path: str) -> Any:
    index, items = expect_list(arg, 2, "Fn::Select", path)
    idx = int(to_str(t.resolve(index, f"{path}[0]"), path))
    values = t.resolve(items, f"{path}[1]")
    if not isinstance(values, list) or not 0 <= idx < len(values):
        raise TemplateError(f"Fn::Select index {idx} is out of range", path)
    return values[idx]


def _fn_split(t: Template, arg: Any, path: str) -> list[str]:
    delimiter, source = expect_list(arg, 2, "Fn::Split", path)
    return to_str(t.resolve(source, f"{path}[1]"), path).split(to_str(delimiter, path))


def _fn_find_in_map(t: Template, arg: Any, path: str) -> Any:
    items = expect_list(arg, (3, 4), "Fn::FindInMap", path)
    keys = [to_str(t.resolve(k, f"{path}[{i}]"), path) for i, k in enumerate(items[:3])]
    node: Any = t.data.get("Mappings") or {}
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            if len(items) == 4 and isinstance(items[3], dict) and "DefaultValue" in items[3]:
                return t.resolve(items[3]["DefaultValue"], f"{path}[3]")
            raise TemplateError(f"Mappings has no {'.'.join(keys)}", path)
        node = node[key]
    return node


def _fn_if(t: Template, arg: Any, path: str) -> Any:
    name, when_true, when_false = expect_list(arg, 3, "Fn::If", path)
    # Only the chosen branch is resolved: the other may name resources its condition dropped.
    if t.condition(name, f"{path}[0]"):
        return evaluate(t, when_true, f"{path}[1]")
    return evaluate(t, when_false, f"{path}[2]")


def _comparable(value: Any, path: str) -> Any:
    return [_comparable(v, path) for v in value] if isinstance(value, list) else to_str(value, path)


def _fn_equals(t: Template, arg: Any, path: str) -> bool:
    left, right = expect_list(arg, 2, "Fn::Equals", path)
    return _comparable(t.resolve(left, f"{path}[0]"), path) == _comparable(t.resolve(right, f"{path}[1]"), path)


def _fn_not(t: Template, arg: Any, path: str) -> bool:
    (expr,) = expect_list(arg, 1, "Fn::Not", path)
    return not condition_value(t, expr, f"{path}[0]")


def _fn_and(t: Template, arg: Any, path: str) -> bool:
    items = expect_list(arg, (2, 10), "Fn::And", path)
    return all(condition_value(t, e, f"{path}[{i}]") for i, e in enumerate(items))


def _fn_or(t: Template, arg: Any, path: str) -> bool:
    items = expect_list(arg, (2, 10), "Fn::Or", path)
    return any(condition_value(t, e, f"{path}[{i}]") for i, e in enumerate(items))


def _fn_import_value(t: Template, arg: Any, path: str) -> Any:
    raise TemplateError(
        "Fn::ImportValue is not supported locally (there are no other stacks to export values); "
        "turn the imported value into a Parameter and pass it with --parameter-overrides", path)


def _fn_base64(t: Template, arg: Any, path: str) -> str:
    return base64.b64encode(to_str(t.resolve(arg, path), path).encode()).decode()


def _fn_get_azs(t: Template, arg: Any, path: str) -> list[str]:
    region = to_str(t.resolve(arg, path), path) or t.context.region
    return [f"{region}{zone}" for zone in "abc"]


def _fn_length(t: Template, arg: Any, path: str) -> int:
    value = t.resolve(arg, path)
    if not isinstance(value, list):
        raise TemplateError("Fn::Length needs a list", path)
    return len(value)


def _fn_to_json_string(t: Template, arg: Any, path: str) -> str:
    return json.dumps(t.resolve(arg, path), separators=(",", ":"))


def _member_list(t: Template, arg: Any, name: str, path: str) -> tuple[list[str], Any]:
    items, other = expect_list(arg, 2, name, path)
    values = t.resolve(items, f"{path}[0]")
    if not isinstance(values, list):
        raise TemplateError(f"{name} needs a list as its first argument", path)
    return [to_str(v, path) for v in values], t.resolve(other, f"{path}[1]")


def _fn_contains(t: Template, arg: Any, path: str) -> bool:
    values, wanted = _member_list(t, arg, "Fn::Contains", path)
    return to_str(wanted, path) in values


def _fn_each_member_equals(t: Template, arg: Any, path: str) -> bool:
    values, wanted = _member_list(t, arg, "Fn::EachMemberEquals", path)
    return all(v == to_str(wanted, path) for v in values)


def _fn_each_member_in(t: Template, arg: Any, path: str) -> bool:
    values, allowed = _member_list(t, arg, "Fn::EachMemberIn", path)
    allowed_set = {to_str(a, path) for a in (allowed if isinstance(allowed, list) else [allowed])}
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

