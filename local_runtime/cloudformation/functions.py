"""The function view of a template: :class:`FunctionSpec`, every intrinsic resolved, layers as local paths."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from local_runtime.cloudformation.errors import TemplateError
from local_runtime.cloudformation.resources import LAYER_TYPES
from local_runtime.cloudformation.values import to_str

if TYPE_CHECKING:
    from local_runtime.cloudformation.template import Resource, Template

__all__ = ["FunctionSpec", "function_spec"]


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
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions: the cap on concurrent workers


def function_spec(t: Template, res: Resource) -> FunctionSpec:
    """Build the spec of one ``AWS::Serverless::Function`` / ``AWS::Lambda::Function`` resource."""
    name = t.physical_name(res.logical_id)
    ppath = f"{res.path}.Properties"
    handler = res.prop("Handler")
    code_uri: Path | None = None
    inline: str | None = None
    if res.type == "AWS::Serverless::Function":
        code = res.prop("CodeUri")
        inline = res.prop("InlineCode")
        if isinstance(code, str):
            code_uri = (t.base_dir / code).resolve()
    else:
        code = res.prop("Code")
        if isinstance(code, str):  # `aws cloudformation package` style local path
            code_uri = (t.base_dir / code).resolve()
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
    layers, layer_arns = _function_layers(t, res)
    info = t.resource_info(res.logical_id)
    return FunctionSpec(
        logical_id=res.logical_id,
        name=name,
        handler=str(handler or ""),
        code_uri=code_uri,
        runtime=str(res.prop("Runtime") or ""),
        timeout=float(res.prop("Timeout", 3)),
        memory=int(res.prop("MemorySize", 128)),
        environment={str(k): to_str(v, f"{ppath}.Environment.Variables.{k}") for k, v in variables.items()},
        layers=tuple(layers),
        layer_arns=tuple(layer_arns),
        inline_code=inline,
        arn=info.attributes.get("Arn", ""),
        architectures=tuple(res.prop("Architectures") or ("x86_64",)),
        reserved_concurrency=None if res.prop("ReservedConcurrentExecutions") is None
        else int(res.prop("ReservedConcurrentExecutions")),
    )


def _function_layers(t: Template, res: Resource) -> tuple[list[Path], list[str]]:
    """Local layer directories (layers of this template) and the ARNs of the others."""
    refs_to_layer = {t.resource_info(lid).ref: lid for lid, r in t.resources.items() if r.type in LAYER_TYPES}
    paths: list[Path] = []
    arns: list[str] = []
    for i, raw in enumerate(res.raw_properties.get("Layers") or ()):
        lpath = f"{res.path}.Properties.Layers[{i}]"
        value = t.resolve(raw, lpath)
        if value is None:
            continue
        layer_id = refs_to_layer.get(str(value))
        if layer_id is None:
            arns.append(str(value))
            continue
        paths.extend(_layer_dirs(t, t.resources[layer_id], lpath))
    return paths, arns


def _layer_dirs(t: Template, layer: Resource, path: str) -> list[Path]:
    prop = "ContentUri" if layer.type == "AWS::Serverless::LayerVersion" else "Content"
    content = layer.prop(prop)
    if not isinstance(content, str):
        raise TemplateError(f"layer {layer.logical_id} has no local {prop}", path)
    root = (t.base_dir / content).resolve()
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

