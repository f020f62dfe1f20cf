"""The one error type of template evaluation: its message starts with the path in the template."""

from __future__ import annotations

__all__ = ["TemplateError", "UnresolvedAttributeError"]


class TemplateError(Exception):
    """The template cannot be evaluated. ``path`` names the place in the template."""

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)


class UnresolvedAttributeError(TemplateError):
    """An attribute that exists only once the resource is deployed (a table's ``StreamArn``)."""
