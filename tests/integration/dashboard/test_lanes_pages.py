"""The lanes page, the at-risk tile and queue, and predicted dates on the shipment and tracking pages: rendered
from lane statistics and shipments seeded into DynamoDB Local, asserted on the HTML."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html import unescape
from typing import Any

import pytest
from chalice.test import Client

from logistics.adapters.codec import from_attributes
from logistics.adapters.dynamodb_lanes import DynamoDBLaneStore
from logistics.domain.lanes import Histogram, LaneStats
from tests.factories import shipment_event
from tests.integration.dashboard.support import Stack, deps, load_app, stack_environment

M, OTHER = "m-lanepages", "m-lanepages-other"
LANE = "DHL|-|DE>Europe/Berlin"
QUIET_LANE = "UPS|express|DE>Europe/Paris"
FOREIGN_LANE = "FEDEX|-|US>America/New_York"
HOSTILE_LANE = '=HYPERLINK("http://x")|<b>x</b>|DE>Europe/Berlin'
AT = "2026-11-20T09:00:00+01:00"


def _stats(delivered: int, on_time: int, days: dict[str, list[int]]) -> LaneStats:
    transit, remaining = Histogram(), Histogram()
    for hours, n in ((30.0, 5), (48.0, 10), (80.0, 5)):
        transit.add(hours, n)
        remaining.add(hours, n)
    return LaneStats(delivered, on_time, delivered, {"transit": transit, "IN_TRANSIT": remaining}, days)


@pytest.fixture(scope="module")
def laned(moto_endpoint: str) -> Iterator[Stack]:
    name = f"lanepages-{uuid.uuid4().hex[:8]}"
    with stack_environment(moto_endpoint, name) as deployed:
        deployed.ingest([
            # Promised for the 21st; the lane says the 22nd: trending late.
            shipment_event("s-late", "IN_TRANSIT", AT, merchant_id=M, eta={"date": "2026-11-21"}),
            shipment_event("s-ok", "IN_TRANSIT", AT, merchant_id=M),  # promised the 22nd: on track
            shipment_event("s-done", "DELIVERED", AT, merchant_id=M, eta={"date": "2026-11-01"}),
            shipment_event("s-foreign", "IN_TRANSIT", AT, merchant_id=OTHER, eta={"date": "2026-11-19"}),
        ])
        store = DynamoDBLaneStore(deployed.dynamodb, f"{name}-lanes")
        busy = _stats(20, 15, {"2026-11-16": [5, 4, 5], "2026-11-18": [12, 9, 12], "2026-11-19": [3, 2, 3]})
        for aggregate in (f"L#{LANE}", "C#DHL", "D#Europe/Berlin", "M#all"):
            store.merge(M, aggregate, busy, "w1")
        store.merge(M, f"L#{QUIET_LANE}", _stats(4, 1, {"2026-11-19": [4, 1, 4]}), "w1")
        store.merge(M, "C#UPS", _stats(4, 1, {"2026-11-19": [4, 1, 4]}), "w1")
        store.merge(OTHER, f"L#{FOREIGN_LANE}", busy, "w1")
        store.merge(OTHER, f"L#{'DHL|-|DE>Europe/Berlin'}", busy, "w1")
        store.merge(OTHER, "C#FEDEX", busy, "w1")
        store.merge(OTHER, f"L#{HOSTILE_LANE}", _stats(1, 1, {"2026-11-19": [1, 1, 1]}), "w1")
        deployed.issue_key(M)
        deployed.issue_key(OTHER)
        deps().override(clock=lambda: datetime(2026, 11, 20, 10, tzinfo=UTC))
        yield deployed


@pytest.fixture(scope="module")
def client(laned: Stack, tmp_path_factory: pytest.TempPathFactory) -> Client:
    return Client(load_app().app, project_dir=str(tmp_path_factory.mktemp("chalice")))


def page(client: Client, stack: Stack, path: str, merchant: str = M) -> str:
    response = client.http.get(path, headers={"Authorization": f"Bearer {stack.keys[merchant]}"})
    assert response.status_code == 200, (path, response.body[:300])
    assert response.headers["Content-Security-Policy"]
    return str(response.body.decode())


def rows_of(html: str, table_id: str) -> list[list[str]]:
    """The cell texts of a table's body rows (tags stripped)."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, table_id
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)]


def test_lanes_page_lists_lanes_with_sparklines_and_rates(client: Client, laned: Stack) -> None:
    html = page(client, laned, "/lanes")
    rows = rows_of(html, "lanes")
    assert [r[:5] for r in rows] == [["DHL", "-", "DE → Europe/Berlin", "20", "75%"],
                                     ["UPS", "express", "DE → Europe/Paris", "4", "25%"]]
    p50, p90 = (float(v.removesuffix(" h")) for v in rows[0][5:7])
    assert 40 <= p50 <= 58 and p50 < p90 <= 96
    # One sparkline per lane; the busy lane spans the 16th to the 19th with the 17th drawn as zero.
    sparks = re.findall(r'<svg class="spark"[^>]*aria-label="([^"]*)".*?<polyline points="([^"]*)"', html, re.S)
    assert len(sparks) == 2
    label, points = sparks[0]
    assert unescape(label) == f"Lane {LANE}: 20 deliveries, 2026-11-16 to 2026-11-19"
    ys = [float(p.split(",")[1]) for p in points.split()]
    assert len(ys) == 4 and ys[1] == max(ys) and ys[2] == min(ys)  # 0 is lowest drawn, 12 highest on screen
    assert rows_of(html, "by-carrier") == [["DHL", "20", "75%"], ["UPS", "4", "25%"]]
    assert rows_of(html, "by-destination") == [["Europe/Berlin", "20", "75%"]]
    assert 'href="/api/v1/lanes.csv"' in html and 'href="/lanes" class="active"' in html
    assert "FEDEX" not in html and "New_York" not in html  # another merchant's lanes


def test_lanes_csv_is_the_merchants_lane_table(client: Client, laned: Stack) -> None:
    response = client.http.get("/api/v1/lanes.csv", headers={"Authorization": f"Bearer {laned.keys[M]}"})
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert sorted((r["lane"], r["delivered"]) for r in rows) == [(LANE, "20"), (QUIET_LANE, "4")]


def test_other_merchant_sees_only_its_lanes(client: Client, laned: Stack) -> None:
    html = page(client, laned, "/lanes", OTHER)
    assert [r[0] for r in rows_of(html, "lanes")] == ["DHL", "FEDEX", "=HYPERLINK(&quot;http://x&quot;)"]
    assert "UPS" not in html and "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    response = client.http.get("/api/v1/lanes.csv", headers={"Authorization": f"Bearer {laned.keys[OTHER]}"})
    rows = {r["lane"]: r for r in csv.DictReader(io.StringIO(response.body.decode()))}
    assert rows[f"'{HOSTILE_LANE}"]["carrier"] == "'=HYPERLINK(\"http://x\")"
    assert rows[f"L#{FOREIGN_LANE}"[2:]]["service"] == "-"


def test_overview_tile_and_at_risk_queue(client: Client, laned: Stack) -> None:
    overview = page(client, laned, "/")
    tile = re.search(r'<a class="tile link-tile warn" href="/at-risk">.*?id="kpi-at-risk">(\d+)<.*?tile-note">([^<]*)<',
                     overview, re.S)
    assert tile and tile.groups() == ("1", "of 2 open, trending late")
    rows = rows_of(page(client, laned, "/at-risk"), "at-risk")
    assert [(r[0], r[3], r[4], r[5]) for r in rows] == [("s-late", "2026-11-21", "2026-11-22",
                                                         "2026-11-21 to 2026-11-23")]
    assert [r[0] for r in rows_of(page(client, laned, "/at-risk", OTHER), "at-risk")] == ["s-foreign"]


def test_shipment_page_shows_the_prediction_beside_the_carrier_eta(client: Client, laned: Stack) -> None:
    html = page(client, laned, "/shipments/s-late")
    facts = dict(re.findall(r"<dt>([^<]*)</dt><dd>(.*?)</dd>", html, re.S))
    assert re.sub(r"<[^>]+>", "", facts["Predicted"]).strip() == "2026-11-22 trending late"
    assert facts["Window p10-p90"] == "2026-11-21 to 2026-11-23"
    assert facts["Carrier ETA"] == "2026-11-21"
    assert facts["Based on"] == "lane statistics, 20 deliveries"
    detail = json.loads(page(client, laned, "/api/v1/shipments/s-late"))["prediction"]
    assert (detail["likely"], detail["earliest"], detail["latest"], detail["trending_late"]) == (
        "2026-11-22", "2026-11-21", "2026-11-23", True)
    on_track = page(client, laned, "/shipments/s-ok")
    assert "2026-11-22" in on_track and "trending late" not in on_track
    delivered = dict(re.findall(r"<dt>([^<]*)</dt><dd>(.*?)</dd>", page(client, laned, "/shipments/s-done"), re.S))
    assert delivered["Predicted"].startswith("no prediction")


def _token(stack: Stack, shipment_id: str) -> str:
    item = from_attributes(stack.dynamodb.get_item(
        TableName=stack.env["SHIPMENTS_TABLE"], Key={"merchant_id": {"S": M}, "shipment_id": {"S": shipment_id}},
    )["Item"])
    return str(item["tracking_token"])


def test_tracking_page_words_the_window_for_the_customer(client: Client, laned: Stack) -> None:
    response = client.http.get(f"/track/{_token(laned, 's-late')}")
    assert response.status_code == 200
    html = response.body.decode()
    assert '<dd id="expected">Expected between Sat 21 and Mon 23 Nov</dd>' in html
    for internal in ("trending", "lane", "samples", "basis", "deliveries", M):
        assert internal not in html, internal
    delivered = client.http.get(f"/track/{_token(laned, 's-done')}").body.decode()
    assert '<dd id="expected">2026-11-01</dd>' in delivered  # no prediction once delivered: the ETA as given


@pytest.mark.parametrize("earliest, latest, wording", [
    (date(2026, 12, 1), date(2026, 12, 3), "Expected between Tue 1 and Thu 3 Dec"),
    (date(2026, 11, 30), date(2026, 12, 2), "Expected between Mon 30 Nov and Wed 2 Dec"),
    (date(2026, 12, 31), date(2027, 1, 1), "Expected between Thu 31 Dec and Fri 1 Jan"),
    (date(2026, 12, 3), date(2026, 12, 3), "Expected on Thu 3 Dec"),
])
def test_customer_window_wording(earliest: date, latest: date, wording: str) -> None:
    load_app()
    from chalicelib.lanes_views import customer_window

    assert customer_window(earliest, latest) == wording


def test_sparkline_fills_missing_days_and_ignores_bad_dates() -> None:
    load_app()
    from chalicelib.sparkline import daily, sparkline

    series: dict[str, Any] = {"2026-11-03": [2, 1, 2], "2026-11-01": [5, 5, 5], "not-a-date": [9, 9, 9]}
    assert [(d.day, n) for d, n in daily(series)] == [(1, 5), (2, 0), (3, 2)]
    assert "—" in sparkline({}, "empty") and "<svg" not in sparkline({}, "empty")
    one_day = sparkline({"2026-11-01": [1]}, "x<y")
    assert one_day.count("<polyline") == 1 and 'aria-label="x&lt;y: 1 deliveries' in one_day and "x<y" not in one_day
