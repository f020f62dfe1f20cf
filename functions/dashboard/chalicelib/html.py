"""A tiny HTML builder that escapes by default: text and attribute values always go through
``html.escape``; only ``Markup`` (what this module built) is inserted as is."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from chalicelib.validation import STATUSES

VOID = frozenset({"meta", "link", "input", "br", "img", "hr", "circle", "polyline", "line", "rect", "path"})


class Markup(str):
    """HTML that is already safe (built here); plain ``str`` is always escaped."""


def esc(value: Any) -> str:
    return "" if value is None else html.escape(str(value), quote=True)


def _children(items: Iterable[Any]) -> str:
    out: list[str] = []
    for item in items:
        if item is None or item is False:
            continue
        if isinstance(item, Markup):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            out.append(_children(item))
        else:
            out.append(esc(item))
    return "".join(out)


def h(tag: str, attrs: dict[str, Any] | None = None, *children: Any) -> Markup:
    """``h("a", {"href": url}, "text")``; attribute ``None``/``False`` is left out, ``True`` is bare."""
    parts = [tag]
    for name, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        parts.append(name if value is True else f'{name}="{esc(value)}"')
    if tag in VOID:  # self-closed, which inline SVG needs (an unclosed <rect> would swallow what follows)
        return Markup("<" + " ".join(parts) + " />")
    opening = "<" + " ".join(parts) + ">"
    return Markup(f"{opening}{_children(children)}</{tag}>")


def frag(*children: Any) -> Markup:
    return Markup(_children(children))


def status_label(status: str | None) -> str:
    return (status or "unknown").replace("_", " ").capitalize()


def status_class(status: str | None) -> str:
    """A CSS class from the status enum only (never from free text)."""
    return f"pill status-{status.lower()}" if status is not None and status in STATUSES else "pill status-unknown"


def pill(status: str | None) -> Markup:
    return h("span", {"class": status_class(status), "data-status": status}, status_label(status))


def short_time(utc: str | None) -> str:
    """2026-11-20T09:00:00.000Z -> 2026-11-20 09:00 UTC"""
    if not utc:
        return ""
    return utc[:16].replace("T", " ") + " UTC" if len(utc) >= 16 else utc
