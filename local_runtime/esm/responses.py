"""Reading a partial batch response (``ReportBatchItemFailures``) the way AWS validates it.

What an ``itemIdentifier`` names differs per source (a Kafka partition and offset, a stream sequence
number); the sources interpret the identifiers returned here. See docs/AWS_EVENT_SOURCES.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["MalformedBatchResponse", "batch_item_identifiers"]


class MalformedBatchResponse(ValueError):
    """A partial batch response AWS would reject: the whole batch counts as failed."""


def batch_item_identifiers(response: Any) -> list[Any]:
    """The ``itemIdentifier`` values of a partial batch response, in order.

    Success (empty list): ``None``, a response that is not an object, an object without
    ``batchItemFailures``, or a null/empty ``batchItemFailures``. Raises :class:`MalformedBatchResponse`
    when ``batchItemFailures`` is not a list or an entry lacks a non-empty ``itemIdentifier``.
    A JSON string response is parsed first (a handler may return the serialised document).
    """
    if isinstance(response, bytes | bytearray):
        response = response.decode("utf-8", "replace")
    if isinstance(response, str):
        try:
            response = json.loads(response)
        except ValueError:
            return []
    if not isinstance(response, Mapping):
        return []
    failures = response.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        raise MalformedBatchResponse(f"batchItemFailures is not a list: {failures!r}")
    ids = []
    for entry in failures:
        if not isinstance(entry, Mapping) or "itemIdentifier" not in entry:
            raise MalformedBatchResponse(f"entry without itemIdentifier: {entry!r}")
        ident = entry["itemIdentifier"]
        if ident is None or ident == "" or ident == {}:
            raise MalformedBatchResponse(f"empty itemIdentifier: {entry!r}")
        ids.append(ident)
    return ids
