"""DynamoDB calls the state adapters share: consistent batch reads, and a conditional put whose failure
is named in the ports' terms (a version that moved on, an item the store refuses)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from logistics.adapters.codec import from_attributes
from logistics.adapters.retry import with_backoff
from logistics.domain.ports import Unstorable, WriteConflict

BATCH_GET_LIMIT = 100  # keys per BatchGetItem request


def batch_get(client: Any, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of ``keys`` that exist (consistent reads, in no particular order), as plain dicts."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request = {table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}}
        for _ in range(8):
            response = client.batch_get_item(RequestItems=request)
            items.extend(response["Responses"].get(table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            with_backoff.sleep_once()
        else:
            raise RuntimeError(f"BatchGetItem on {table} kept returning unprocessed keys")
    return [from_attributes(i) for i in items]


def conditional_put(client: Any, put: dict[str, Any]) -> Exception | None:
    """One PutItem; None when written, else the error: ``WriteConflict`` when its condition failed,
    ``Unstorable`` when DynamoDB refuses what it holds, anything else as raised (to be retried)."""
    try:
        client.put_item(**put)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "ConditionalCheckFailedException":
            return WriteConflict(f"{put['TableName']}: the stored version moved on")
        if code == "ValidationException":  # e.g. above the 400 KB item size: no retry can help
            return Unstorable(exc.response["Error"].get("Message") or str(exc))
        return exc
    except ValueError as exc:  # text the request cannot encode
        return Unstorable(f"{type(exc).__name__}: {exc}"[:500])
    return None
