"""Dashboard API against a real moto server: tables from template.yaml, data through the ingest and
notify services, requests through Chalice's test client (the same gateway emulation as chalice local)."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from chalice.test import Client

from logistics.adapters.codec import from_attributes
from tests.factories import shipment_event
from tests.integration.dashboard.support import CapturingPublisher, Stack, deps, load_app, poison

A, B = "m-alpha", "m-beta"
PUBLIC = {"/login", "/logout", "/track/{token}", "/static/{name}"}
# A login form posted from the dashboard's own page: browsers send Host and Origin (the test client
# sends neither, and login refuses a POST nothing vouches for).
FORM_POST = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Host": "dashboard.test",
    "Origin": "http://dashboard.test",
}


# -- helpers -----------------------------------------------------------------------------------------
def auth(dash_stack: Stack, merchant: str = A) -> dict[str, str]:
    return {"Authorization": f"Bearer {dash_stack.keys[merchant]}"}


def get(client: Client, dash_stack: Stack, path: str, merchant: str = A) -> Any:
    return client.http.get(path, headers=auth(dash_stack, merchant))


def get_json(client: Client, dash_stack: Stack, path: str, merchant: str = A) -> Any:
    response = get(client, dash_stack, path, merchant)
    assert response.status_code == 200, (path, response.status_code, response.body[:300])
    return json.loads(response.body)


def stored_shipments(dash_stack: Stack, merchant: str = A) -> list[dict[str, Any]]:
    """Ground truth straight from ShipmentsTable (a Query on the merchant's partition)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": dash_stack.env["SHIPMENTS_TABLE"],
        "KeyConditionExpression": "merchant_id = :m",
        "ExpressionAttributeValues": {":m": {"S": merchant}},
    }
    while True:
        page = dash_stack.dynamodb.query(**kwargs)
        items += [from_attributes(i) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def walk(client: Client, dash_stack: Stack, query: dict[str, str], merchant: str = A) -> tuple[list[str], int]:
    """Follow next_cursor to the end; returns the ids in order and the number of pages."""
    ids: list[str] = []
    pages = 0
    cursor = None
    while True:
        params = dict(query, **({"cursor": cursor} if cursor else {}))
        body = get_json(client, dash_stack, f"/api/v1/shipments?{urlencode(params)}", merchant)
        pages += 1
        ids += [i["shipment_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return ids, pages
        assert pages < 100


def dlq_keys(dash_stack: Stack, merchant: str) -> list[str]:
    page = dash_stack.dynamodb.query(
        TableName=dash_stack.env["DEAD_LETTER_TABLE"],
        KeyConditionExpression="merchant_id = :m",
        ExpressionAttributeValues={":m": {"S": merchant}},
    )
    return [i["dlq_key"]["S"] for i in page["Items"]]


def dlq_item(dash_stack: Stack, merchant: str, key: str) -> dict[str, Any]:
    response = dash_stack.dynamodb.get_item(
        TableName=dash_stack.env["DEAD_LETTER_TABLE"], Key={"merchant_id": {"S": merchant}, "dlq_key": {"S": key}}
    )
    return from_attributes(response["Item"])


def protected_routes(app_module: Any) -> list[tuple[str, str]]:
    return [
        (path, method) for path, methods in app_module.app.routes.items() if path not in PUBLIC for method in methods
    ]


def concrete(path: str) -> str:
    return (
        path.replace("{shipment_id}", "a-001")
        .replace("{warehouse_id}", "w-alpha")
        .replace("{dlq_key}", quote("1700000000000#shipment-events-0@1", safe=""))
    )


# -- authentication ----------------------------------------------------------------------------------
def test_every_protected_route_needs_credentials(client: Client, app_module: Any) -> None:
    routes = protected_routes(app_module)
    assert len(routes) >= 20
    for path, method in routes:
        response = client.http.request(method, concrete(path), headers={"Content-Type": "application/json"})
        if path.startswith("/api/") or method != "GET":
            assert response.status_code == 401, (method, path, response.status_code)
            assert json.loads(response.body)["error"]["code"] == "unauthorized"
        else:  # pages send browsers to the login form
            assert response.status_code == 303, (method, path)
            assert response.headers["Location"].startswith("/login?next=")


def test_wrong_or_malformed_credentials_are_401_and_never_fall_back(client: Client, dash_stack: Stack) -> None:
    for headers in (
        {"Authorization": "Bearer lk_not-a-key"},
        {"Authorization": f"Basic {dash_stack.keys[A]}"},
        {"X-Api-Key": "nope"},
        {"Authorization": "Bearer "},
        # a wrong Authorization header is not rescued by a valid X-Api-Key
        {"Authorization": "Bearer wrong", "X-Api-Key": dash_stack.keys[A]},
    ):
        assert client.http.get("/api/v1/me", headers=headers).status_code == 401, headers


def test_x_api_key_header_works_and_names_the_merchant(client: Client, dash_stack: Stack) -> None:
    response = client.http.get("/api/v1/me", headers={"X-Api-Key": dash_stack.keys[B]})
    assert json.loads(response.body) == {"merchant_id": B, "auth": "api_key"}


def test_keys_are_stored_hashed(dash_stack: Stack) -> None:
    item = from_attributes(
        dash_stack.dynamodb.get_item(TableName=dash_stack.env["MERCHANTS_TABLE"], Key={"merchant_id": {"S": A}})["Item"]
    )
    import hashlib

    assert item["api_key_hash"] == hashlib.sha256(dash_stack.keys[A].encode()).hexdigest()
    assert dash_stack.keys[A] not in json.dumps(item)


def test_login_sets_a_signed_httponly_strict_cookie_that_authenticates(client: Client, dash_stack: Stack) -> None:
    bad = client.http.post(
        "/login", headers=FORM_POST, body=b"api_key=wrong&next=/"
    )
    assert bad.status_code == 401 and "Set-Cookie" not in bad.headers
    response = client.http.post(
        "/login",
        headers=FORM_POST,
        body=urlencode({"api_key": dash_stack.keys[A], "next": "/shipments"}).encode(),
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/shipments"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    session = cookie.split(";")[0]
    assert dash_stack.keys[A] not in session
    me = client.http.get("/api/v1/me", headers={"Cookie": session})
    assert json.loads(me.body) == {"merchant_id": A, "auth": "session"}
    assert client.http.get("/shipments", headers={"Cookie": session}).status_code == 200
    # Tampering with the merchant inside the session breaks its signature.
    name, value = session.split("=", 1)
    payload, mac = value.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["m"] = B
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    assert client.http.get("/api/v1/me", headers={"Cookie": f"{name}={forged_payload}.{mac}"}).status_code == 401


def test_open_redirects_are_refused_at_login(client: Client, dash_stack: Stack) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "\\\\evil"):
        response = client.http.post(
            "/login",
            headers=FORM_POST,
            body=urlencode({"api_key": dash_stack.keys[A], "next": target}).encode(),
        )
        assert response.headers["Location"] == "/", target


def test_session_writes_need_the_dashboard_header(client: Client, dash_stack: Stack) -> None:
    login = client.http.post(
        "/login",
        headers=FORM_POST,
        body=urlencode({"api_key": dash_stack.keys[A]}).encode(),
    )
    session = login.headers["Set-Cookie"].split(";")[0]
    key = quote(dlq_keys(dash_stack, A)[0], safe="")
    response = client.http.post(
        f"/api/v1/dead-letters/{key}/replay", headers={"Cookie": session, "Content-Type": "application/json"}
    )
    assert response.status_code == 403


def test_rotating_a_key_ends_its_sessions_and_the_old_key(client: Client, dash_stack: Stack) -> None:
    from chalicelib.auth import issue_api_key

    merchant = "m-rotate"
    old = issue_api_key(dash_stack.env["MERCHANTS_TABLE"], merchant, "first", dash_stack.dynamodb)
    login = client.http.post(
        "/login",
        headers=FORM_POST,
        body=urlencode({"api_key": old}).encode(),
    )
    session = login.headers["Set-Cookie"].split(";")[0]
    assert client.http.get("/api/v1/me", headers={"Cookie": session}).status_code == 200
    new = issue_api_key(dash_stack.env["MERCHANTS_TABLE"], merchant, "second", dash_stack.dynamodb)
    deps().reset()  # drops the 30 s lookup cache, as its expiry would
    assert client.http.get("/api/v1/me", headers={"Cookie": session}).status_code == 401
    assert client.http.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.http.get("/api/v1/me", headers={"Authorization": f"Bearer {new}"}).status_code == 200


# -- isolation ---------------------------------------------------------------------------------------
def test_another_merchants_ids_are_404_on_every_route_that_takes_an_id(
    client: Client, dash_stack: Stack, app_module: Any
) -> None:
    b_dlq = dlq_keys(dash_stack, B)[0]
    ids = {"{shipment_id}": "b-001", "{warehouse_id}": "w-beta", "{dlq_key}": quote(b_dlq, safe="")}
    id_routes = [(p, m) for p, m in protected_routes(app_module) if "{" in p]
    assert len(id_routes) >= 7
    with deps().overridden(publisher=CapturingPublisher()):
        check_each(client, dash_stack, id_routes, ids)
    assert dlq_item(dash_stack, B, b_dlq)["state"] == "replayed"  # only B's own replay touched it


def check_each(client: Client, dash_stack: Stack, id_routes: list[tuple[str, str]], ids: dict[str, str]) -> None:
    for path, method in id_routes:
        concrete_path = path
        for name, value in ids.items():
            concrete_path = concrete_path.replace(name, value)
        headers = {**auth(dash_stack, A), "Content-Type": "application/json"}
        response = client.http.request(method, concrete_path, headers=headers)
        assert response.status_code == 404, (method, path, response.status_code)
        assert b"b-001" not in response.body and b"w-beta" not in response.body
        # ... while the owner gets them
        owner = client.http.request(
            method, concrete_path, headers={**auth(dash_stack, B), "Content-Type": "application/json"}
        )
        assert owner.status_code == 200, (method, path, owner.status_code)


def test_lists_and_search_never_show_another_merchants_data(client: Client, dash_stack: Stack) -> None:
    everything = json.dumps(
        [
            get_json(client, dash_stack, "/api/v1/shipments?limit=200"),
            get_json(client, dash_stack, "/api/v1/search?q=TRK-b-001"),
            get_json(client, dash_stack, "/api/v1/search?q=b-001"),
            get_json(client, dash_stack, "/api/v1/search?q=order-b-001"),
            get_json(client, dash_stack, "/api/v1/warehouses"),
            get_json(client, dash_stack, "/api/v1/dead-letters"),
            get_json(client, dash_stack, f"/api/v1/changes?since={quote('1970-01-01T00:00:00.000Z')}&limit=200"),
            get_json(client, dash_stack, "/api/v1/attention"),
        ]
    )
    assert "b-001" not in everything and "w-beta" not in everything and B not in everything


# -- lists, filters, pagination ----------------------------------------------------------------------
def list_order(query: dict[str, str]) -> str:
    """The documented order of a list (docs/ARCHITECTURE.md), newest first: the sort key of the index
    the most selective criterion picks."""
    if query.get("needs_attention") == "true" or "status" in query:
        return "status_key"  # when the current status began
    if {"warehouse", "carrier", "region", "geo", "country"} & set(query):
        return "created_key"  # when the shipment's first event occurred
    return "ingested_key"  # when the shipment was last stored


def test_unfiltered_list_is_every_shipment_last_stored_first(client: Client, dash_stack: Stack) -> None:
    truth = sorted(stored_shipments(dash_stack), key=lambda i: i["ingested_key"], reverse=True)
    ids, _ = walk(client, dash_stack, {"limit": "200"})
    assert ids == [i["shipment_id"] for i in truth]
    body = get_json(client, dash_stack, "/api/v1/shipments?limit=3")
    assert body["query"]["index"] == "by_ingested"


@pytest.mark.parametrize(
    "query, keep",
    [
        ({"status": "IN_TRANSIT"}, lambda i: i["status"] == "IN_TRANSIT"),
        ({"region": "EU"}, lambda i: i.get("geo") == "EU"),
        ({"region": "apac"}, lambda i: i.get("geo") == "APAC"),
        ({"country": "FR"}, lambda i: (i.get("location") or {}).get("country") == "FR"),
        ({"carrier": "UPS"}, lambda i: i.get("carrier") == "UPS"),
        ({"warehouse": "w-alpha"}, lambda i: i.get("warehouse_id") == "w-alpha"),
        ({"needs_attention": "true"}, lambda i: bool(i.get("needs_attention"))),
        ({"updated_since": "2026-11-21T00:00:00Z"}, lambda i: i["updated_at"] >= "2026-11-21T00:00:00.000Z"),
        ({"updated_since": "2026-11-21"}, lambda i: i["updated_at"] >= "2026-11-21T00:00:00.000Z"),
        ({"status": "IN_TRANSIT", "region": "EU"}, lambda i: i["status"] == "IN_TRANSIT" and i.get("geo") == "EU"),
        (
            {"carrier": "DHL", "country": "DE", "updated_since": "2026-11-20T03:00:00+01:00"},
            lambda i: (
                i.get("carrier") == "DHL"
                and (i.get("location") or {}).get("country") == "DE"
                and i["updated_at"] >= "2026-11-20T02:00:00.000Z"
            ),
        ),
    ],
)
def test_filters_return_exactly_the_matching_shipments(
    client: Client, dash_stack: Stack, query: dict[str, str], keep: Any
) -> None:
    matching = (i for i in stored_shipments(dash_stack) if keep(i))
    expected = sorted(matching, key=lambda i: i[list_order(query)], reverse=True)
    assert expected, "the seed should cover every filter"
    ids, _ = walk(client, dash_stack, {**query, "limit": "200"})
    assert ids == [i["shipment_id"] for i in expected]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"region": "EU"},
        {"country": "DE"},
        {"status": "IN_TRANSIT", "region": "EU"},
        {"carrier": "DHL", "updated_since": "2026-11-20T02:00:00Z"},
    ],
)
@pytest.mark.parametrize("limit", [1, 4, 7])
def test_pagination_has_no_duplicates_and_no_gaps(
    client: Client, dash_stack: Stack, query: dict[str, str], limit: int
) -> None:
    whole, _ = walk(client, dash_stack, {**query, "limit": "200"})
    paged, pages = walk(client, dash_stack, {**query, "limit": str(limit)})
    assert paged == whole
    assert len(set(paged)) == len(paged)
    assert pages >= len(whole) // limit


def test_pages_hold_exactly_limit_items_until_the_last(client: Client, dash_stack: Stack) -> None:
    body = get_json(client, dash_stack, "/api/v1/shipments?limit=5&country=DE")
    assert body["count"] == 5 and body["next_cursor"]
    assert body["query"]["index"] == "by_geo"


def test_cursor_is_validated(client: Client, dash_stack: Stack) -> None:
    first = get_json(client, dash_stack, "/api/v1/shipments?limit=3&region=EU")
    cursor = first["next_cursor"]
    payload, mac = cursor.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["k"]["shipment_id"]["S"] = "zzz"
    altered = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=") + "." + mac
    cases = {
        "garbage": "not-a-cursor",
        "altered": altered,
        "other filter": None,  # the same cursor with another filter
        "other merchant": None,  # A's cursor presented by B
    }
    for name in ("garbage", "altered"):
        response = get(client, dash_stack, f"/api/v1/shipments?limit=3&region=EU&cursor={quote(cases[name])}")
        assert response.status_code == 400, name
        assert json.loads(response.body)["error"]["field"] == "cursor"
    assert get(client, dash_stack, f"/api/v1/shipments?limit=3&region=NA&cursor={quote(cursor)}").status_code == 400
    assert get(client, dash_stack, f"/api/v1/shipments?limit=3&region=EU&cursor={quote(cursor)}", B).status_code == 400
    assert get(client, dash_stack, f"/api/v1/shipments?limit=3&region=EU&cursor={quote(cursor)}").status_code == 200


@pytest.mark.parametrize(
    "path, field",
    [
        ("/api/v1/shipments?limit=0", "limit"),
        ("/api/v1/shipments?limit=201", "limit"),
        ("/api/v1/shipments?limit=ten", "limit"),
        ("/api/v1/shipments?status=TELEPORTED", "status"),
        ("/api/v1/shipments?region=MARS", "region"),
        ("/api/v1/shipments?country=Germany", "country"),
        ("/api/v1/shipments?country=US&region=EU", "country"),
        ("/api/v1/shipments?updated_since=yesterday", "updated_since"),
        ("/api/v1/shipments?updated_since=2026-11-20T10:00:00", "updated_since"),
        ("/api/v1/shipments?needs_attention=maybe", "needs_attention"),
        ("/api/v1/shipments?colour=red", "colour"),
        ("/api/v1/shipments?limit=1&limit=2", "limit"),
        ("/api/v1/shipments.csv?limit=1001", "limit"),
        ("/api/v1/search", "q"),
        ("/api/v1/changes?since=yesterday", "since"),
        ("/api/v1/attention?hours=0", "hours"),
        ("/api/v1/kpis?sample=5000", "sample"),
        ("/api/v1/dead-letters?limit=-1", "limit"),
        ("/api/v1/dead-letters/not-a-key", "dlq_key"),
        ("/api/v1/shipments/%20bad%20id", "shipment_id"),
    ],
)
def test_bad_parameters_are_400_with_the_field(client: Client, dash_stack: Stack, path: str, field: str) -> None:
    response = get(client, dash_stack, path)
    assert response.status_code == 400, (path, response.body)
    error = json.loads(response.body)["error"]
    assert error["code"] == "bad_request" and error["field"] == field and error["message"]


# -- search, detail, timeline, notifications, warehouses ---------------------------------------------
@pytest.mark.parametrize("term", ["a-007", "TRK-a-007", "order-a-007"])
def test_search_by_id_tracking_number_or_order_reference(client: Client, dash_stack: Stack, term: str) -> None:
    body = get_json(client, dash_stack, f"/api/v1/search?q={term}")
    assert [i["shipment_id"] for i in body["items"]] == ["a-007"]


def test_search_for_nothing_finds_nothing(client: Client, dash_stack: Stack) -> None:
    assert get_json(client, dash_stack, "/api/v1/search?q=nope")["items"] == []


def test_detail_has_the_timeline_of_warehouse_and_carrier_events_with_late_ones_marked(
    client: Client, dash_stack: Stack
) -> None:
    body = get_json(client, dash_stack, "/api/v1/shipments/a-route")
    assert body["shipment"]["status"] == "OUT_FOR_DELIVERY"
    assert body["shipment"]["tracking_url"].startswith("http://dashboard.test/track/")
    timeline = body["timeline"]
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    assert {e["kind"] for e in timeline} == {"warehouse", "carrier"}
    warehouse = [e for e in timeline if e["kind"] == "warehouse"]
    assert warehouse[0]["warehouse_id"] == "w-alpha" and warehouse[0]["status"] == "PROCESSING"
    late = [e for e in timeline if e["late"]]
    assert [e["event_id"] for e in late] == ["a-route-late"]
    assert late[0]["disposition"] == "late"
    assert body["shipment"]["late_count"] == 1


def test_corrections_are_visible(client: Client, dash_stack: Stack) -> None:
    body = get_json(client, dash_stack, "/api/v1/shipments/a-corr/timeline")
    by_id = {e["event_id"]: e for e in body["items"]}
    assert by_id["a-corr-wrong"]["disposition"] == "voided"
    assert by_id["a-corr-fix"]["disposition"] == "correction"
    assert by_id["a-corr-fix"]["correction_of"] == "a-corr-wrong"
    assert get_json(client, dash_stack, "/api/v1/shipments/a-corr")["shipment"]["status"] == "OUT_FOR_DELIVERY"


def test_notification_log_per_shipment(client: Client, dash_stack: Stack) -> None:
    items = get_json(client, dash_stack, "/api/v1/shipments/a-ontime/notifications")["items"]
    # Both events came in one batch: one stored change, PICKED_UP folded into DELIVERED.
    assert {(n["status"], n["channel"], n["outcome"]) for n in items} == {
        ("DELIVERED", "webhook", "skipped"),
        ("DELIVERED", "customer", "sent"),
    }
    internal = get_json(client, dash_stack, "/api/v1/shipments/a-onhand/notifications")["items"]
    assert {(n["status"], n["channel"], n["outcome"], n.get("detail")) for n in internal} == {
        ("PROCESSING", "webhook", "skipped", "no webhook configured"),
        ("PROCESSING", "customer", "skipped", "status not customer-facing"),
    }


def test_warehouses_show_stock_and_shipments_on_hand(client: Client, dash_stack: Stack) -> None:
    items = get_json(client, dash_stack, "/api/v1/warehouses")["items"]
    assert [w["warehouse_id"] for w in items] == ["w-alpha"]
    alpha = items[0]
    assert alpha["stock"] == {"SKU-BLUE": 11, "SKU-RED": 38}
    assert set(alpha["on_hand"]) == {"a-route", "a-onhand"}
    detail = get_json(client, dash_stack, "/api/v1/warehouses/w-alpha")
    assert detail["warehouse"]["units"] == 49
    assert [s["shipment_id"] for s in detail["shipments"]] == ["a-onhand"]


def test_attention_queue_and_no_movement(client: Client, dash_stack: Stack) -> None:
    body = get_json(client, dash_stack, "/api/v1/attention?hours=1")
    assert [s["shipment_id"] for s in body["needs_attention"]] == ["a-exc"]
    stale = [s["shipment_id"] for s in body["no_movement"]["items"]]
    truth = {
        i["shipment_id"]
        for i in stored_shipments(dash_stack)
        if i["status"] not in ("DELIVERED", "RETURNED", "CANCELLED", "LOST", "EXPIRED")
    }
    assert set(stale) <= truth and len(stale) == min(len(truth), 50)
    assert "a-ontime" not in stale  # delivered: never "no movement"


def test_kpis_from_counts_and_a_stated_sample(client: Client, dash_stack: Stack) -> None:
    body = get_json(client, dash_stack, "/api/v1/kpis")
    truth = stored_shipments(dash_stack)
    counts = body["counts"]["by_status"]
    for status in ("IN_TRANSIT", "DELIVERED", "EXCEPTION", "CREATED"):
        assert counts[status] == sum(1 for i in truth if i["status"] == status), status
    assert body["counts"]["total"] == len(truth)
    assert "by_status" in body["counts"]["method"] and "COUNT" in body["counts"]["method"]
    assert body["sample"]["size"] == len(truth) and "by_ingested" in body["sample"]["method"]
    assert body["on_time"] == {**body["on_time"], "delivered_with_eta": 2, "on_time": 1, "rate": 0.5}
    assert body["transit"]["avg_hours"] == 24.0
    assert body["exceptions"]["current"] == 1 and body["needs_attention"]["count"] == 1
    assert sum(p["n"] for p in body["throughput"]["series"]) == len(truth)
    assert {r["geo"] for r in body["delays_by_region"]} >= {"EU", "NA", "APAC"}


# -- live changes --------------------------------------------------------------------------------------
def test_changes_since_a_cursor_returns_new_updates_only(client: Client, dash_stack: Stack) -> None:
    start = get_json(client, dash_stack, "/api/v1/changes")
    assert start["items"] == [] and start["next_since"]
    assert get_json(client, dash_stack, f"/api/v1/changes?since={quote(start['next_since'])}")["items"] == []
    dash_stack.ingest([shipment_event("a-live", "IN_TRANSIT", "2026-11-25T10:00:00Z", merchant_id=A)])
    after = get_json(client, dash_stack, f"/api/v1/changes?since={quote(start['next_since'])}")
    assert [i["shipment_id"] for i in after["items"]] == ["a-live"]
    assert get_json(client, dash_stack, f"/api/v1/changes?since={quote(after['next_since'])}")["items"] == []


def test_a_late_event_about_an_old_shipment_is_a_change_too(client: Client, dash_stack: Stack) -> None:
    """Changes follow when a shipment was stored, not when its event happened."""
    start = get_json(client, dash_stack, "/api/v1/changes")["next_since"]
    dash_stack.ingest([shipment_event("a-old", "PICKED_UP", "2020-01-01T10:00:00Z", merchant_id=A)])
    after = get_json(client, dash_stack, f"/api/v1/changes?since={quote(start)}")
    assert [i["shipment_id"] for i in after["items"]] == ["a-old"]


# -- CSV -----------------------------------------------------------------------------------------------
def test_csv_is_paged_with_a_next_link(client: Client, dash_stack: Stack) -> None:
    path = "/api/v1/shipments.csv?region=EU&limit=4"
    rows: list[dict[str, str]] = []
    pages = 0
    while path:
        response = get(client, dash_stack, path)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        page = list(csv.DictReader(io.StringIO(response.body.decode())))
        assert len(page) == int(response.headers["X-Row-Count"]) <= 4
        rows += page
        pages += 1
        link = response.headers.get("Link")
        path = re.fullmatch(r"<(.+)>; rel=\"next\"", link).group(1) if link else ""
    expected, _ = walk(client, dash_stack, {"region": "EU", "limit": "200"})
    assert [r["shipment_id"] for r in rows] == expected
    assert pages == -(-len(expected) // 4) or pages == -(-len(expected) // 4) + 1
    assert all(r["geo"] == "EU" for r in rows)


def test_csv_cells_cannot_become_formulas(client: Client, dash_stack: Stack) -> None:
    dash_stack.ingest(
        [
            shipment_event(
                "a-csv",
                "IN_TRANSIT",
                "2026-11-20T00:01:00Z",
                merchant_id=A,
                carrier='=HYPERLINK("http://x")',
                order_ref="+1-2",
            )
        ]
    )
    body = get(client, dash_stack, "/api/v1/shipments.csv?carrier=" + quote('=HYPERLINK("http://x")')).body.decode()
    row = next(iter(csv.DictReader(io.StringIO(body))))
    assert row["carrier"] == '\'=HYPERLINK("http://x")' and row["order_ref"] == "'+1-2"


# -- dead letters and replay ---------------------------------------------------------------------------
def test_dead_letters_newest_first_with_reason_and_bytes(client: Client, dash_stack: Stack) -> None:
    dash_stack.ingest([poison(A, "status")])
    items = get_json(client, dash_stack, "/api/v1/dead-letters")["items"]
    assert len(items) >= 2
    assert [d["dlq_key"] for d in items] == sorted((d["dlq_key"] for d in items), reverse=True)
    assert "TELEPORTED" in items[0]["reason"] and "TELEPORTED" in items[0]["value_preview"]


def test_replay_reproduces_the_original_bytes_and_marks_the_letter(client: Client, dash_stack: Stack) -> None:
    raw = poison(A)
    dash_stack.ingest([raw], topic="shipment-events")
    key = max(dlq_keys(dash_stack, A))
    publisher = CapturingPublisher()
    with deps().overridden(publisher=publisher):
        response = client.http.post(
            f"/api/v1/dead-letters/{quote(key, safe='')}/replay",
            headers={**auth(dash_stack), "Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.body
        assert json.loads(response.body)["state"] == "replayed"
        [sent] = publisher.published
        assert sent["topic"] == "shipment-events" and sent["value"] == raw and sent["key"] == b"k"
        assert sent["headers"]["dlq-replay-of"] == key.split("#", 1)[1].encode()
        item = dlq_item(dash_stack, A, key)
        assert item["state"] == "replayed" and item["replay_count"] == 1 and item["replayed_to"] == "shipment-events"
        again = client.http.post(
            f"/api/v1/dead-letters/{quote(key, safe='')}/replay",
            headers={**auth(dash_stack), "Content-Type": "application/json"},
        )
        assert again.status_code == 409 and len(publisher.published) == 1


def test_a_failed_replay_is_a_502_and_can_be_retried(client: Client, dash_stack: Stack) -> None:
    dash_stack.ingest([poison(A)])
    key = max(dlq_keys(dash_stack, A))
    publisher = CapturingPublisher()
    publisher.fail = True
    with deps().overridden(publisher=publisher):
        path = f"/api/v1/dead-letters/{quote(key, safe='')}/replay"
        headers = {**auth(dash_stack), "Content-Type": "application/json"}
        assert client.http.post(path, headers=headers).status_code == 502
        assert dlq_item(dash_stack, A, key)["state"] == "replay_failed"
        publisher.fail = False
        assert client.http.post(path, headers=headers).status_code == 200
        assert dlq_item(dash_stack, A, key)["state"] == "replayed"


@pytest.mark.slow
def test_replay_to_a_real_broker(client: Client, dash_stack: Stack, kafka_bootstrap: str) -> None:
    from chalicelib.replay import KafkaPublisher
    from confluent_kafka import Consumer, TopicPartition

    from local_runtime.deploy import create_kafka_topics

    topic = f"replay-{uuid.uuid4().hex[:6]}"
    create_kafka_topics(kafka_bootstrap, [topic], partitions=1)
    raw = poison(A)
    dash_stack.ingest([raw], topic=topic)
    key = next(k for k in dlq_keys(dash_stack, A) if topic in k)
    with deps().overridden(publisher=KafkaPublisher(kafka_bootstrap)):
        response = client.http.post(
            f"/api/v1/dead-letters/{quote(key, safe='')}/replay",
            headers={**auth(dash_stack), "Content-Type": "application/json"},
        )
    assert response.status_code == 200, response.body
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": f"g-{topic}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    try:
        deadline = time.monotonic() + 20
        message = None
        while message is None and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error():
                message = None
        assert message is not None, "the replayed record never arrived"
        assert message.value() == raw and message.key() == b"k"
        assert dict(message.headers())["dlq-replay-of"].decode() == key.split("#", 1)[1]
    finally:
        consumer.close()


# -- tracking page ---------------------------------------------------------------------------------------
def test_tracking_page_with_its_token_and_without(client: Client, dash_stack: Stack) -> None:
    item = from_attributes(
        dash_stack.dynamodb.get_item(
            TableName=dash_stack.env["SHIPMENTS_TABLE"], Key={"merchant_id": {"S": A}, "shipment_id": {"S": "a-route"}}
        )["Item"]
    )
    page = client.http.get(f"/track/{item['tracking_token']}")
    assert page.status_code == 200
    html = page.body.decode()
    assert "Out for delivery" in html and "Copenhagen" in html and "2026-11-22" in html
    for internal in (A, "a-route-late", "a-route-0", "shipment-events", "LEJ1", "w-alpha", "late"):
        assert internal not in html, internal
    assert "Picked up" in html and html.count("<li>") == 5  # warehouse step + 4 applied carrier events
    token = item["tracking_token"]
    # Another last character, always: a fixed "x" would be the same token when it already ends in "x".
    altered = token[:-1] + ("y" if token.endswith("x") else "x")
    assert altered != token
    for unknown in ("not-a-token", "A" * 24, altered):
        assert client.http.get(f"/track/{unknown}").status_code == 404


# -- headers, routing, scans -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path, with_auth",
    [
        ("/api/v1/shipments", True),
        ("/api/v1/shipments", False),
        ("/api/v1/shipments/b-001", True),
        ("/", True),
        ("/login", False),
        ("/static/dashboard.js", False),
        ("/track/nope", False),
        ("/api/v1/shipments?limit=0", True),
    ],
)
def test_security_headers_on_every_response(client: Client, dash_stack: Stack, path: str, with_auth: bool) -> None:
    response = client.http.get(path, headers=auth(dash_stack) if with_auth else {})
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_pages_have_no_inline_script_or_style(client: Client, dash_stack: Stack) -> None:
    for path in ("/", "/shipments", "/shipments/a-route", "/attention", "/warehouses", "/dead-letters", "/login"):
        html = get(client, dash_stack, path).body.decode()
        for tag in re.findall(r"<script[^>]*>", html):
            assert 'src="' in tag or 'type="application/json"' in tag, (path, tag)
        assert " style=" not in html and "<style" not in html
        assert not re.search(r"<[^>]+\son[a-z]+=", html), path


def test_static_files_have_their_content_types(client: Client) -> None:
    assert client.http.get("/static/dashboard.js").headers["Content-Type"].startswith("text/javascript")
    assert client.http.get("/static/dashboard.css").headers["Content-Type"].startswith("text/css")
    assert client.http.get("/static/app.py").status_code == 404
    assert client.http.get("/static/..%2Fapp.py").status_code == 404


def test_api_gateway_proxy_resource_is_routed(dash_stack: Stack, app_module: Any) -> None:
    """The template sends every path through /{proxy+}; the app maps it to its own routes."""

    def event(path: str, stage_path: str) -> dict[str, Any]:
        return {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": "GET",
            "headers": {"Authorization": f"Bearer {dash_stack.keys[A]}"},
            "multiValueHeaders": {},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": {"limit": ["2"]},
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "body": None,
            "isBase64Encoded": False,
            "requestContext": {
                "resourcePath": "/{proxy+}",
                "httpMethod": "GET",
                "path": stage_path,
                "stage": "dev",
                "identity": {"sourceIp": "1.2.3.4"},
            },
        }

    ok = app_module.app(event("/api/v1/shipments/a-route", "/dev/api/v1/shipments/a-route"), None)
    assert ok["statusCode"] == 200 and json.loads(ok["body"])["shipment"]["shipment_id"] == "a-route"
    page = app_module.app(event("/shipments", "/dev/shipments"), None)
    assert page["statusCode"] == 200 and 'href="/dev/static/dashboard.css"' in page["body"]
    missing = app_module.app(event("/nowhere/at/all", "/dev/nowhere/at/all"), None)
    assert missing["statusCode"] == 404 and missing["headers"]["X-Frame-Options"] == "DENY"


def test_no_route_ever_scans(client: Client, dash_stack: Stack, app_module: Any) -> None:
    """Record every DynamoDB operation the app issues while every GET route runs; a Scan fails the test."""
    dynamodb = deps().dynamodb()
    operations: list[str] = []

    def record_call(model: Any, **_: Any) -> None:
        operations.append(model.name)

    def refuse_scan(**_: Any) -> None:
        raise AssertionError("the dashboard issued a Scan")

    dynamodb.meta.events.register("before-call.dynamodb", record_call)
    dynamodb.meta.events.register("before-call.dynamodb.Scan", refuse_scan)
    try:
        with pytest.raises(AssertionError, match="issued a Scan"):
            dynamodb.scan(TableName=dash_stack.env["SHIPMENTS_TABLE"], Limit=1)  # the guard itself works
        operations.clear()
        login = client.http.post(
            "/login",
            headers=FORM_POST,
            body=urlencode({"api_key": dash_stack.keys[A]}).encode(),
        )
        assert login.status_code == 303
        token = from_attributes(
            dash_stack.dynamodb.get_item(
                TableName=dash_stack.env["SHIPMENTS_TABLE"],
                Key={"merchant_id": {"S": A}, "shipment_id": {"S": "a-route"}},
            )["Item"]
        )["tracking_token"]
        ids = {
            "{shipment_id}": "a-route",
            "{warehouse_id}": "w-alpha",
            "{token}": token,
            "{name}": "dashboard.js",
            "{dlq_key}": quote(dlq_keys(dash_stack, A)[0], safe=""),
        }
        queries = {"/api/v1/search": "?q=a-001"}
        for path, methods in app_module.app.routes.items():
            if "GET" not in methods:
                continue
            concrete_path = path
            for name, value in ids.items():
                concrete_path = concrete_path.replace(name, value)
            for query in ("", "?needs_attention=true", "?country=DE&carrier=DHL&limit=2"):
                if query and path not in ("/shipments", "/api/v1/shipments", "/api/v1/shipments.csv"):
                    continue
                response = get(client, dash_stack, concrete_path + (query or queries.get(path, "")))
                assert response.status_code == 200, (concrete_path + query, response.status_code, response.body[:200])
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb", record_call)
        dynamodb.meta.events.unregister("before-call.dynamodb.Scan", refuse_scan)
    assert "Scan" not in operations
    # KEYS_ONLY indexes: a list Queries the keys, then BatchGetItems the page's items.
    assert set(operations) <= {"Query", "GetItem", "BatchGetItem"}
    assert {"Query", "GetItem", "BatchGetItem"} <= set(operations)


@pytest.mark.parametrize(
    "query, index",
    [("", "by_ingested"), ("&status=IN_TRANSIT", "by_status"), ("&region=EU", "by_geo"),
     ("&carrier=DHL&country=DE", "by_carrier"), ("&needs_attention=true", "by_attention")],
)
def test_a_list_is_an_index_query_with_a_limit_then_one_batch_get_in_index_order(
    client: Client, dash_stack: Stack, query: str, index: str
) -> None:
    dynamodb = deps().dynamodb()
    calls: list[tuple[str, dict[str, Any]]] = []
    responses: list[dict[str, Any]] = []

    def record_call(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, dict(params)))  # the API parameters, as the app passed them

    def record_response(parsed: dict[str, Any], **_: Any) -> None:
        responses.append(parsed)

    dynamodb.meta.events.register("provide-client-params.dynamodb", record_call)
    dynamodb.meta.events.register("after-call.dynamodb", record_response)
    try:
        body = get_json(client, dash_stack, f"/api/v1/shipments?limit=3{query}")
    finally:
        dynamodb.meta.events.unregister("provide-client-params.dynamodb", record_call)
        dynamodb.meta.events.unregister("after-call.dynamodb", record_response)
    table = dash_stack.env["SHIPMENTS_TABLE"]
    on_shipments = [(position, name, params) for position, (name, params) in enumerate(calls)
                    if params.get("TableName") == table or table in params.get("RequestItems", {})]
    ops = [name for _, name, _ in on_shipments]
    assert ops[:2] == ["Query", "BatchGetItem"] and "Scan" not in ops, ops
    position, _, first = on_shipments[0]
    assert first["IndexName"] == index and first["Limit"] >= 3 and first["ScanIndexForward"] is False
    keys = responses[position]["Items"]
    assert all(set(k) <= {"merchant_id", "shipment_id", "merchant_status", "status_key", "created_key",
                          "ingested_key", "merchant_geo", "merchant_carrier", "attention_merchant"} for k in keys)
    fetched = on_shipments[1][2]["RequestItems"][table]["Keys"]
    assert 0 < len(fetched) <= first["Limit"]
    # the page keeps the index's order
    in_index_order = [k["shipment_id"]["S"] for k in keys]
    shown = [i["shipment_id"] for i in body["items"]]
    assert shown == [s for s in in_index_order if s in shown]


@pytest.mark.filterwarnings("ignore:CognitoUserPoolAuthorizer is not a supported in local mode")
def test_jwt_mode_takes_the_merchant_from_the_cognito_claim(
    dash_stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """AUTH_MODE=jwt: routes carry a CognitoUserPoolAuthorizer (API Gateway verifies the token on AWS; the
    local gateway decodes it) and the merchant comes from custom:merchant_id, never from a key."""
    import importlib.util

    from chalice.app import CognitoUserPoolAuthorizer

    from tests.integration.dashboard.support import DASHBOARD_DIR

    monkeypatch.setenv("AUTH_MODE", "jwt")
    monkeypatch.setenv("COGNITO_USER_POOL_ARN", "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc")
    spec = importlib.util.spec_from_file_location("dashboard_app_jwt", DASHBOARD_DIR / "app.py")
    module = importlib.util.module_from_spec(spec)
    deps().reset()
    try:
        spec.loader.exec_module(module)
        entry = module.app.routes["/api/v1/me"]["GET"]
        assert isinstance(entry.authorizer, CognitoUserPoolAuthorizer)
        assert module.app.routes["/track/{token}"]["GET"].authorizer is None
        jwt_client = Client(module.app, project_dir=str(tmp_path))

        def token(claims: dict[str, Any]) -> str:
            part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
            return f"e30.{part}.sig"

        ok = jwt_client.http.get(
            "/api/v1/me", headers={"Authorization": token({"cognito:username": "alice", "custom:merchant_id": B})}
        )
        assert json.loads(ok.body) == {"merchant_id": B, "auth": "jwt"}
        no_claim = jwt_client.http.get("/api/v1/me", headers={"Authorization": token({"cognito:username": "bob"})})
        assert no_claim.status_code == 401
        # An API key means nothing in jwt mode.
        assert jwt_client.http.get("/api/v1/me", headers={"X-Api-Key": dash_stack.keys[A]}).status_code == 401
    finally:
        deps().reset()


def test_app_module_is_the_one_under_test() -> None:
    assert load_app().app.app_name == "logistics-dashboard"
