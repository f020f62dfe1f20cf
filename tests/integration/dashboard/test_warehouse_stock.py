"""The dashboard's warehouse views over stock kept in SKU items: the list shows the first SKUs of each
warehouse and its counters, the warehouse API pages through every SKU (one Query per page)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from tests.factories import warehouse_event
from tests.integration.dashboard.support import Stack, load_app, stack_environment

M = "m-stock"
BIG = {f"BIG-{n:04d}": n % 13 + 1 for n in range(650)}  # SKU items
LONG = {f"LONG-{n:02d}-" + "y" * 52: n + 1 for n in range(35)}  # 35 long SKUs: above the summary's 2 KB too
MID = {f"MID-{n:02d}": 2 * n for n in range(30)}  # kept in the summary
SMALL = {"RED": 4, "BLUE": 0}


def received(warehouse_id: str, stock: dict[str, int], minute: int = 0) -> list[dict[str, Any]]:
    lines = [{"sku": sku, "qty": qty} for sku, qty in stock.items()]
    return [warehouse_event("received", warehouse_id, f"2026-11-20T08:{minute + n:02d}:00Z", M, lines[i : i + 500])
            for n, i in enumerate(range(0, len(lines), 500))]


@pytest.fixture(scope="module")
def stocked(moto_endpoint: str) -> Iterator[Stack]:
    with stack_environment(moto_endpoint, f"stock-{uuid.uuid4().hex[:8]}") as deployed:
        deployed.ingest([*received("w-big", BIG), *received("w-long", LONG), *received("w-mid", MID),
                         *received("w-small", SMALL)], topic="warehouse-events")
        deployed.ingest(received("w-big", {"BIG-0007": 100}, minute=30), topic="warehouse-events")
        deployed.issue_key(M)
        yield deployed


@pytest.fixture(scope="module")
def client(stocked: Stack, tmp_path_factory: pytest.TempPathFactory) -> Client:
    return Client(load_app().app, project_dir=str(tmp_path_factory.mktemp("chalice")))


def get(client: Client, stack: Stack, path: str) -> Any:
    return client.http.get(path, headers={"Authorization": f"Bearer {stack.keys[M]}"})


def get_json(client: Client, stack: Stack, path: str) -> Any:
    response = get(client, stack, path)
    assert response.status_code == 200, (path, response.body[:300])
    return json.loads(response.body)


EXPECTED = {"w-big": {**BIG, "BIG-0007": BIG["BIG-0007"] + 100}, "w-long": LONG, "w-mid": MID, "w-small": SMALL}


def test_the_list_shows_counters_and_the_first_skus_of_each_warehouse(client: Client, stocked: Stack) -> None:
    seen: list[dict[str, Any]] = []
    path = "/api/v1/warehouses?limit=2"
    while path:
        body = get_json(client, stocked, path)
        assert len(body["items"]) <= 2
        seen.extend(body["items"])
        path = f"/api/v1/warehouses?limit=2&cursor={body['next_cursor']}" if body["next_cursor"] else ""
    assert [w["warehouse_id"] for w in seen] == ["w-big", "w-long", "w-mid", "w-small"]
    for w in seen:
        stock = EXPECTED[w["warehouse_id"]]
        assert (w["skus"], w["units"]) == (len(stock), sum(stock.values()))
        first = dict(sorted(stock.items())[: len(w["stock"])])
        assert w["stock"] == first
        assert w["stock_complete"] == (len(stock) <= 20) and len(w["stock"]) == min(len(stock), 20)
    page = get(client, stocked, "/warehouses")
    assert page.status_code == 200 and "The first 20 of 650 SKUs" in page.body.decode()


def test_the_warehouse_api_pages_through_every_sku(client: Client, stocked: Stack) -> None:
    for warehouse_id, stock in EXPECTED.items():
        collected: dict[str, int] = {}
        path, pages = f"/api/v1/warehouses/{warehouse_id}", 0
        while path:
            body = get_json(client, stocked, path)
            pages += 1
            assert body["warehouse"]["skus"] == len(stock) and body["warehouse"]["units"] == sum(stock.values())
            assert not set(body["warehouse"]["stock"]) & set(collected)
            collected.update(body["warehouse"]["stock"])
            cursor = body["stock_next_cursor"]
            assert body["warehouse"]["stock_complete"] == (cursor is None and pages == 1)
            path = f"/api/v1/warehouses/{warehouse_id}?stock_cursor={cursor}" if cursor else ""
        assert collected == stock
        assert pages == (2 if warehouse_id == "w-big" else 1)  # 500 SKUs a page


def test_a_stock_cursor_belongs_to_its_warehouse(client: Client, stocked: Stack) -> None:
    cursor = get_json(client, stocked, "/api/v1/warehouses/w-big")["stock_next_cursor"]
    assert cursor
    response = get(client, stocked, f"/api/v1/warehouses/w-long?stock_cursor={cursor}")
    assert response.status_code == 400 and "cursor" in response.body.decode()
    assert get(client, stocked, "/api/v1/warehouses/w-big?stock_cursor=garbage").status_code == 400
    assert get(client, stocked, "/api/v1/warehouses/w-big?stock=1").status_code == 400
    assert get(client, stocked, "/api/v1/warehouses/w-nowhere").status_code == 404


def test_the_list_reads_a_large_stock_no_further_than_its_preview(stocked: Stack) -> None:
    from chalicelib import warehouse_reads

    page = warehouse_reads.list_page(stocked.dynamodb, stocked.env["WAREHOUSES_TABLE"], M, 50, None)
    assert [r["summary"]["warehouse_id"] for r in page.items] == list(EXPECTED) and page.next_key is None
    # w-big's 650 SKU items are read up to the preview (and what that Query's Limit brings along), then
    # skipped with a key condition past them: the list's reads follow the page size, not the stock size.
    assert page.calls <= 4 and page.read <= 2 * (50 + warehouse_reads.STOCK_PREVIEW + 1) < len(BIG)
