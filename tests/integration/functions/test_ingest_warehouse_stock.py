"""A warehouse of 5,500 SKUs through IngestFunction on DynamoDB Local (one stock map of them would be past
the 400 KB item limit, reached at about 5,000): every quantity stored in its own item, nothing dead-lettered,
and redelivery or another arrival order give the same stock (issue 10, item 2)."""

from __future__ import annotations

import json
import random
from typing import Any

from boto3.dynamodb.conditions import Key

from local_runtime.esm.kafka.events import KafkaMessage, build_kafka_event
from logistics.adapters.warehouse_items import parse_key
from logistics.contracts import to_domain
from logistics.domain import warehouse
from tests.factories import warehouse_event

CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/logistics/11111111-2222-3333-4444-555555555555-1"
SKUS = 5_500  # past the ~5,000 a single map item held (multiple of LINES)
LINES = 500  # the contract's most lines per event
WAREHOUSE = "WH-BIG"


def sku(n: int) -> str:
    return f"SKU-{n:05d}-" + "x" * 24  # 34 characters: a few thousand fit one pending map


def movements(merchant: str) -> list[dict[str, Any]]:
    """Every SKU received once (events of 500 lines), then picks and an absolute count that make the
    order of occurrence matter for the first 600 SKUs."""
    events = [warehouse_event("received", WAREHOUSE, f"2026-11-20T08:{e:02d}:00Z", merchant,
                              [{"sku": sku(n), "qty": n % 97 + 1} for n in range(e * LINES, (e + 1) * LINES)],
                              event_id=f"rcv-{e:02d}")
              for e in range(SKUS // LINES)]
    events.append(warehouse_event("picked", WAREHOUSE, "2026-11-20T09:00:00Z", merchant,
                                  [{"sku": sku(n), "qty": 1} for n in range(0, 600, 2)], event_id="pick-1"))
    events.append(warehouse_event("cycle_counted", WAREHOUSE, "2026-11-20T09:30:00Z", merchant,
                                  [{"sku": sku(n), "qty": 50} for n in range(100)], event_id="count-1"))
    events.append(warehouse_event("picked", WAREHOUSE, "2026-11-20T10:00:00Z", merchant,
                                  [{"sku": sku(n), "qty": 3} for n in range(50, 150)], event_id="pick-2"))
    return events


def invoke(stack: Any, batch: list[dict[str, Any]], first_offset: int) -> None:
    messages = [KafkaMessage("warehouse-events", 0, first_offset + i, 1_763_000_000_000 + first_offset + i,
                             key=WAREHOUSE.encode(), value=json.dumps(e).encode()) for i, e in enumerate(batch)]
    event = build_kafka_event(messages, bootstrap_servers="b-1.example:9098", cluster_arn=CLUSTER)
    assert stack.invoker.invoke("IngestFunction", event) == {"batchItemFailures": []}


def stored(stack: Any, merchant: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The warehouse's summary item and the quantity of every SKU item (one paged Query)."""
    table = stack.table("WarehousesTable")
    condition = Key("merchant_id").eq(merchant) & Key("warehouse_id").between(WAREHOUSE, f"{WAREHOUSE}$")
    request: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True}
    summary: dict[str, Any] = {}
    stock: dict[str, int] = {}
    while True:
        page = table.query(**request)
        for item in page["Items"]:
            _, name = parse_key(item["warehouse_id"])
            if name is None:
                summary = item
            else:
                stock[name] = int(item["qty"])
        if "LastEvaluatedKey" not in page:
            return summary, stock
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def dead_letters(stack: Any, merchant: str) -> list[dict[str, Any]]:
    letters = stack.table("DeadLetterTable")
    return [*letters.query(KeyConditionExpression=Key("merchant_id").eq(merchant))["Items"],
            *letters.query(KeyConditionExpression=Key("merchant_id").eq("_unattributed"))["Items"]]


def test_thousands_of_skus_are_stored_whatever_the_delivery(stack: Any) -> None:
    events = movements("m-big")
    expected = warehouse.fold([to_domain(e) for e in events])
    assert expected.state is not None and len(expected.stock) == SKUS
    batches = [events[n : n + 7] for n in range(0, len(events), 7)]  # ~3,500 lines per invocation
    for n, batch in enumerate(batches):
        invoke(stack, batch, 100 * n)
    summary, stock = stored(stack, "m-big")
    assert stock == expected.stock  # every SKU, each in its own item
    assert (summary["skus"], summary["units"]) == (SKUS, sum(expected.stock.values()))
    assert summary["event_count"] == len(events) and "stock" not in summary and "stock_behind" not in summary
    assert dead_letters(stack, "m-big") == []
    version = summary["version"]

    # The same batches again, last first: re-folded, compared with every SKU item, nothing to write.
    for n, batch in reversed(list(enumerate(batches))):
        invoke(stack, batch, 100 * n)
    summary, again = stored(stack, "m-big")
    assert again == expected.stock and summary["version"] == version

    # The same events for another merchant, shuffled into other batches: the same stock.
    other = [dict(e, merchant_id="m-shuffled") for e in events]
    random.Random(3).shuffle(other)
    for n in range(0, len(other), 5):
        invoke(stack, other[n : n + 5], 1000 + n)
    summary, shuffled = stored(stack, "m-shuffled")
    assert shuffled == expected.stock
    assert (summary["skus"], summary["units"]) == (SKUS, sum(expected.stock.values()))
    assert "stock_behind" not in summary and dead_letters(stack, "m-shuffled") == []
