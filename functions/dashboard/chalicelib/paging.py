"""Paging: what a list pages over (its scope and key attributes), a page read, and the signed cursor.

A cursor is a DynamoDB LastEvaluatedKey signed (``signed.CURSORS``) together with the merchant and
the scope it was issued for: an altered cursor, or one replayed against another merchant or other
filters, is a 400 instead of silently paging through something else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.http import bad_request
from chalicelib.signed import CURSORS, Forged, InvalidToken


@dataclass(frozen=True)
class Scope:
    """One list's cursors: the name they are bound to and the key attributes of the index it reads."""

    name: str
    key_attrs: frozenset[str]


WAREHOUSES = Scope("warehouses", frozenset({"merchant_id", "warehouse_id"}))


def warehouse_stock(warehouse_id: str) -> Scope:
    """The cursors of one warehouse's stock pages: bound to that warehouse."""
    return Scope(f"warehouse-stock:{warehouse_id}", frozenset({"merchant_id", "warehouse_id"}))

DEAD_LETTERS = Scope("dead-letters", frozenset({"merchant_id", "dlq_key"}))


@dataclass
class Page:
    """Up to a page of items from a Query and the key to continue from (None: nothing more)."""

    items: list[dict[str, Any]]
    next_key: dict[str, Any] | None = None
    read: int = 0  # items DynamoDB evaluated (ScannedCount) for this page
    calls: int = 0
    budget_exhausted: bool = False  # stopped at the read budget; the next page continues


def encode_cursor(secret: bytes, merchant_id: str, scope: Scope, key: dict[str, Any]) -> str:
    """A LastEvaluatedKey as a cursor bound to ``merchant_id`` and ``scope``."""
    return CURSORS.sign(secret, {"v": 1, "m": merchant_id, "s": scope.name, "k": key})


def decode_cursor(secret: bytes, merchant_id: str, scope: Scope, cursor: str) -> dict[str, Any]:
    """The typed LastEvaluatedKey inside a cursor, after checking signature, owner, scope and shape."""
    try:
        data = CURSORS.verify(secret, cursor)
    except Forged as exc:
        raise bad_request("cursor signature does not match (altered, or from another deployment)", "cursor") from exc
    except InvalidToken as exc:
        raise bad_request("cursor is malformed", "cursor") from exc
    if not isinstance(data, dict):
        raise bad_request("cursor is malformed", "cursor")
    if data.get("m") != merchant_id or data.get("s") != scope.name:
        raise bad_request("cursor belongs to another query; start again without it", "cursor")
    key = data.get("k")
    if not isinstance(key, dict) or set(key) != scope.key_attrs:
        raise bad_request("cursor is malformed", "cursor")
    for value in key.values():
        if not (isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str)):
            raise bad_request("cursor is malformed", "cursor")
    return key


def start_key(secret: bytes, merchant_id: str, scope: Scope, cursor: str | None) -> dict[str, Any] | None:
    """Where a page starts: None without a cursor, else the checked key inside it."""
    if cursor is None:
        return None
    key = decode_cursor(secret, merchant_id, scope, cursor)
    owner = key.get("merchant_id", {}).get("S")
    if owner is not None and owner != merchant_id:
        raise bad_request("cursor belongs to another merchant", "cursor")
    return key


def next_cursor(secret: bytes, merchant_id: str, scope: Scope, page: Page) -> str | None:
    """The cursor of the page after ``page``, or None when it was the last."""
    return encode_cursor(secret, merchant_id, scope, page.next_key) if page.next_key else None


def read_page(secret: bytes, merchant_id: str, scope: Scope, cursor: str | None,
              read: Callable[[dict[str, Any] | None], Page]) -> tuple[Page, str | None]:
    """One page of a list: ``read`` from where ``cursor`` points, and the cursor to the page after."""
    page = read(start_key(secret, merchant_id, scope, cursor))
    return page, next_cursor(secret, merchant_id, scope, page)
