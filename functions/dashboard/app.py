"""Placeholder so `sam build` has a handler to package; the real Chalice app replaces this file.

The template's handler is ``app.app``: the Chalice object itself.
"""

from typing import Any


def app(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise NotImplementedError("functions/dashboard/app.py is a stub")
