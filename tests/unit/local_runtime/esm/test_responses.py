"""Partial batch response parsing (local_runtime.esm.responses): what counts as success, what fails the
whole batch."""

from __future__ import annotations

from typing import Any

import pytest

from local_runtime.esm.responses import MalformedBatchResponse, batch_item_identifiers


@pytest.mark.parametrize(
    "response",
    [None, "not json", 42, [], {}, {"batchItemFailures": None}, {"batchItemFailures": []}, b'{"other": 1}'],
)
def test_success_answers(response: Any) -> None:
    assert batch_item_identifiers(response) == []


def test_identifiers_in_order_and_json_documents_are_parsed() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": {"offset": 1}}]}
    assert batch_item_identifiers(response) == ["2", {"offset": 1}]
    assert batch_item_identifiers('{"batchItemFailures": [{"itemIdentifier": "7"}]}') == ["7"]
    assert batch_item_identifiers(b'{"batchItemFailures": [{"itemIdentifier": "8"}]}') == ["8"]


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": "all"},
        {"batchItemFailures": [{"id": "1"}]},
        {"batchItemFailures": ["1"]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": {}}]},
    ],
)
def test_malformed_answers_fail_the_batch(response: Any) -> None:
    with pytest.raises(MalformedBatchResponse):
        batch_item_identifiers(response)
