"""Scalar coercions shared by the evaluators; a value of the wrong shape is a :class:`TemplateError` at ``path``."""

from __future__ import annotations

from typing import Any

from local_runtime.cloudformation.errors import TemplateError

__all__ = ["as_bool", "expect_list", "int_in_range", "to_str", "truthy"]


def to_str(value: Any, path: str) -> str:
    """A scalar as CloudFormation stringifies it (booleans lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"expected a string, got {type(value).__name__}: {value!r}", path)


def truthy(value: Any) -> bool:
    """``True`` or ``"true"`` (any case); everything else is false."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def as_bool(value: Any, path: str) -> bool:
    """A boolean property: ``true`` / ``false`` as a bool or a string, anything else is an error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TemplateError(f"expected true or false, got {value!r}", path)


def int_in_range(value: Any, lo: int, hi: int, path: str) -> int:
    """An integer property within ``lo..hi``."""
    try:
        number = int(to_str(value, path))
    except ValueError as exc:
        raise TemplateError(f"expected an integer, got {value!r}", path) from exc
    if not lo <= number <= hi:
        raise TemplateError(f"{number} is outside {lo}..{hi}", path)
    return number


def expect_list(value: Any, size: int | tuple[int, int], name: str, path: str) -> list[Any]:
    """The argument list of an intrinsic function, of ``size`` items (or ``(lo, hi)``)."""
    lo, hi = size if isinstance(size, tuple) else (size, size)
    if not isinstance(value, list) or not lo <= len(value) <= hi:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise TemplateError(f"{name} takes a list of {want} items", path)
    return value
