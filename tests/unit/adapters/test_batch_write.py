"""BatchWriteItem refuses a whole request for one invalid item: each item then stands alone."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from logistics.adapters.dead_letter import DynamoDBDeadLetters
from logistics.adapters.dynamodb_timeline import batch_write
from logistics.domain.ports import DeadLetter, Unstorable


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "op")


class Client:
    """Refuses any item whose ``bad`` attribute is set, as DynamoDB refuses an oversized item."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.batches = 0

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.batches += 1
        (requests,) = RequestItems.values()
        items = [r["PutRequest"]["Item"] for r in requests]
        if any("bad" in i for i in items):
            raise _error("ValidationException", "Item size has exceeded the maximum allowed size")
        self.items.extend(items)
        return {}

    def put_item(self, TableName: str, Item: dict[str, Any]) -> None:
        if "bad" in Item:
            raise _error("ValidationException", "Item size has exceeded the maximum allowed size")
        self.items.append(Item)


def test_one_invalid_item_does_not_sink_the_batch() -> None:
    client = Client()
    items = [{"entity": f"e{n}", "at": "a"} for n in range(5)]
    items[2]["bad"] = "x"
    errors = batch_write(client, "t", items)
    assert list(errors) == [2] and isinstance(errors[2], Unstorable)
    assert sorted(i["entity"]["S"] for i in client.items) == ["e0", "e1", "e3", "e4"]


def test_an_unserialisable_item_fails_alone() -> None:
    client = Client()
    errors = batch_write(client, "t", [{"entity": "a", "at": "1", "n": float("nan")}, {"entity": "b", "at": "1"}])
    assert list(errors) == [0] and isinstance(errors[0], Unstorable)
    assert [i["entity"]["S"] for i in client.items] == ["b"]


def test_items_with_the_same_key_are_written_once() -> None:
    client = Client()
    assert batch_write(client, "t", [{"entity": "a", "at": "1", "v": 1}, {"entity": "a", "at": "1", "v": 2}]) == {}
    assert [i["v"]["N"] for i in client.items] == ["2"]


def test_a_dead_letter_dynamodb_refuses_is_written_again_cut_to_its_minimum() -> None:
    class Picky(Client):
        def put_item(self, TableName: str, Item: dict[str, Any]) -> None:
            if "value_b64" in Item:  # refuses the full letter, takes the minimal one
                raise _error("ValidationException", "refused")
            self.items.append(Item)

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            (requests,) = RequestItems.values()
            if any("value_b64" in r["PutRequest"]["Item"] for r in requests):
                raise _error("ValidationException", "refused")
            return super().batch_write_item(RequestItems)

    client = Picky()
    letters = [DeadLetter(source=f"t-0@{n}", reason="bad", value=b"{}", key=None, timestamp_ms=n, headers={})
               for n in range(3)]
    assert DynamoDBDeadLetters(client, "dlq").put(letters) == {}
    assert len(client.items) == 3
    assert all(i["value_sha256"]["S"] and "cut to its minimum" in i["reason"]["S"] for i in client.items)
