"""The dashboard refuses bad input cleanly: the 500s found by probing (each a 400/401/403 now), the login
redirect's ``next``, the origin check on login and logout, the CSV formula rule, bounded caches, the
failed-key throttle, and lists filtered by the caller's merchant. Against the module's stack on
DynamoDB Local, through Chalice's test client."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from chalice.test import Client

from logistics.adapters.codec import from_attributes
from tests.factories import shipment_event
from tests.integration.dashboard.support import Stack, deps, load_app

load_app()
from chalicelib import csv_export  # noqa: E402  (importable once load_app put functions/dashboard on the path)
from chalicelib.auth import MerchantKeys  # noqa: E402
from chalicelib.cache import TTLCache  # noqa: E402
from chalicelib.http import SECURITY_HEADERS  # noqa: E402
from chalicelib.pages import safe_next  # noqa: E402
from chalicelib.throttle import FailureThrottle  # noqa: E402

A, B = "m-alpha", "m-beta"
HOST = "dashboard.test"
ORIGIN = f"http://{HOST}"
FORM = "application/x-www-form-urlencoded"
SAME_ORIGIN = {"Content-Type": FORM, "Host": HOST, "Origin": ORIGIN}


def bearer(stack: Stack, merchant: str = A) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.keys[merchant]}"}


def secured(response: Any) -> bool:
    return all(response.headers.get(name) == value for name, value in SECURITY_HEADERS.items())


def login(client: Client, key: str, headers: dict[str, str] | None = None, **form: str) -> Any:
    return client.http.post("/login", headers=SAME_ORIGIN if headers is None else headers,
                            body=urlencode({"api_key": key, **form}).encode())


@pytest.fixture(scope="module")
def session(client: Client, dash_stack: Stack) -> str:
    response = login(client, dash_stack.keys[A])
    assert response.status_code == 303
    return str(response.headers["Set-Cookie"].split(";")[0])


# -- the 500s found by probing -------------------------------------------------------------------------
FOUND_500S = [
    # (what, path, extra headers) -> each was an unhandled exception (500) before; 400 now.
    ("superscript digit: isdigit() but not int()", "/api/v1/shipments?limit=%C2%B2", {}),
    ("5,000-digit limit: int() refuses > 4,300 digits", "/api/v1/shipments?limit=" + "9" * 5000, {}),
    ("huge hours", "/api/v1/attention?hours=" + "9" * 5000, {}),
    ("superscript sample", "/api/v1/kpis?sample=%C2%B2", {}),
    ("date overflowing year 1 when made UTC", "/api/v1/shipments?updated_since=0001-01-01T00%3A00%3A00%2B01%3A00", {}),
    ("date overflowing year 9999 when made UTC", "/api/v1/shipments?updated_since=9999-12-31T23%3A59%3A59-01%3A00", {}),
    ("non-ASCII cursor: hmac.compare_digest raises TypeError", "/api/v1/shipments?cursor=%C3%A9.%C3%A9", {}),
    ("non-ASCII cursor on a page", "/warehouses?cursor=x.%C3%A9", {}),
    ("dead-letter key over DynamoDB's 1,024-byte sort key", "/api/v1/dead-letters/1700000000000%23"
     + quote("😀" * 300, safe=""), {}),
]


@pytest.mark.parametrize("what, path, headers", FOUND_500S, ids=[f[0].split(":")[0] for f in FOUND_500S])
def test_inputs_that_were_500s_are_400s(client: Client, dash_stack: Stack, what: str, path: str,
                                        headers: dict[str, str]) -> None:
    response = client.http.get(path, headers={**bearer(dash_stack), **headers})
    assert response.status_code == 400, (what, response.status_code, response.body[:300])
    assert secured(response)
    if path.startswith("/api/"):
        assert json.loads(response.body)["error"]["code"] == "bad_request"


def test_a_get_with_any_content_type_is_served(client: Client, dash_stack: Stack) -> None:
    """Chalice checked a GET's Content-Type against the route's (application/json) and answered 415."""
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "\u00e9"):
        response = client.http.get("/api/v1/me", headers={**bearer(dash_stack), "Content-Type": content_type})
        assert response.status_code == 200, content_type


def test_a_non_ascii_session_cookie_is_a_401_not_a_500(client: Client, session: str) -> None:
    """``SimpleCookie`` decodes octal escapes, so a cookie can carry non-ASCII text into the MAC check."""
    for cookie in ('dash_session="\\303\\251.\\303\\251"', "dash_session=é.é", session[:-3] + "é"):
        response = client.http.get("/api/v1/me", headers={"Cookie": cookie})
        assert response.status_code == 401 and secured(response), cookie


def test_a_newline_in_next_is_a_redirect_home_not_a_500(client: Client, dash_stack: Stack) -> None:
    """Chalice refuses a header value with a newline (ChaliceError -> 500); ``next`` went into Location."""
    response = login(client, dash_stack.keys[A], next="/shipments\nSet-Cookie: x=1")
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_wrong_content_type_on_a_form_post_is_a_clean_415(client: Client, dash_stack: Stack) -> None:
    response = client.http.post("/login", headers={**SAME_ORIGIN, "Content-Type": "text/plain"}, body=b"x")
    assert response.status_code == 415 and secured(response)
    assert "text/plain" not in response.body.decode()  # no header value echoed into the page
    api = client.http.post("/api/v1/dead-letters/1700000000000%23x-0%401/replay",
                           headers={**bearer(dash_stack), "Content-Type": "text/plain"})
    assert api.status_code == 415 and json.loads(api.body)["error"]["code"] == "unsupported_media_type"


# -- next ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [
    "//evil.example/x", "/\\evil.example", "\\\\evil.example", "https://evil.example/", "http:/evil.example",
    "javascript:alert(1)", "evil.example", " /shipments", "/%2F/evil.example", "/%2f%2fevil.example",
    "%2F%2Fevil.example", "/%5Cevil.example", "/%255C%255Cevil.example", "/%252F%252Fevil.example",
    "/\t/evil.example", "/%09/evil.example", "/\n/evil.example", "/shipments%0d%0aSet-Cookie:%20x=1",
    "/\x85/evil.example", "/%C2%85/evil.example", "/\x7f", "/" + "a" * 3000, "/%25252F%25252Fevil.example",
])
def test_next_refuses_anything_a_browser_could_take_off_site(target: str) -> None:
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target, expected", [
    ("/", "/"), ("/shipments", "/shipments"), ("/shipments?status=IN_TRANSIT&limit=5", None),
    ("/shipments?q=M%C3%BCller", None), ("/shipments/a-route", None), ("/shipments?q=a%2Fb", None),
    ("/shipments?q=Müller", "/shipments?q=M%C3%BCller"), (None, "/"), ("", "/"),
    ("/\u2028/x", "/%E2%80%A8/x"),  # not stripped by URL parsers: percent-encoded, a path here
])
def test_next_keeps_same_site_paths(target: str | None, expected: str | None) -> None:
    assert safe_next(target) == (expected or target)


def test_login_redirects_only_to_same_site_paths(client: Client, dash_stack: Stack) -> None:
    for target, location in (("/%2F/evil.example", "/"), ("/\\evil.example", "/"), ("/shipments?limit=5",
                                                                                       "/shipments?limit=5")):
        response = login(client, dash_stack.keys[A], next=target)
        assert response.headers["Location"] == location, target
    form = client.http.get("/login?next=" + quote("//evil.example", safe=""))
    assert 'name="next" value="/"' in form.body.decode()


# -- origin check on login and logout ---------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "http://dashboard.test.evil.example"},
    {"Origin": "http://dashboard.test:8080"},  # another port is another origin
    {"Origin": "https://dashboard.test", "X-Forwarded-Proto": "http"},
    {"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"},  # the browser says what it is
    {"Origin": ORIGIN, "Sec-Fetch-Site": "same-site"},
    {"Origin": "null"},  # a sandboxed frame or a no-referrer page elsewhere
    {"Referer": "http://evil.example/login"},
    {"Referer": "http://user@dashboard.test/login"},
    {},  # nothing vouches for it
    {"Origin": "\u00e9"}, {"Origin": "http://[::1"}, {"Origin": "http://dashboard.test:99999"},
])
@pytest.mark.parametrize("route", ["/login", "/logout"])
def test_cross_site_login_and_logout_are_403(client: Client, dash_stack: Stack, route: str,
                                             headers: dict[str, str]) -> None:
    response = client.http.post(route, headers={"Content-Type": FORM, "Host": HOST, **headers},
                                body=urlencode({"api_key": dash_stack.keys[A]}).encode())
    assert response.status_code == 403, (route, headers, response.status_code)
    assert "Set-Cookie" not in response.headers and secured(response)


@pytest.mark.parametrize("headers", [
    {"Origin": ORIGIN},
    {"Origin": "HTTP://Dashboard.Test:80"},
    {"Origin": "null", "Sec-Fetch-Site": "same-origin"},  # what Chromium sends under Referrer-Policy: no-referrer
    {"Sec-Fetch-Site": "same-origin"},
    {"Referer": f"{ORIGIN}/login?next=/shipments"},
    {"Origin": "https://dashboard.test", "X-Forwarded-Proto": "https"},  # behind API Gateway / a TLS proxy
])
def test_same_origin_login_and_logout_work(client: Client, dash_stack: Stack, headers: dict[str, str]) -> None:
    response = client.http.post("/login", headers={"Content-Type": FORM, "Host": HOST, **headers},
                                body=urlencode({"api_key": dash_stack.keys[A]}).encode())
    assert response.status_code == 303 and "dash_session=" in response.headers["Set-Cookie"], headers
    out = client.http.post("/logout", headers={"Content-Type": FORM, "Host": HOST, **headers}, body=b"")
    assert out.status_code == 303 and "Max-Age=0" in out.headers["Set-Cookie"]


# -- CSV -------------------------------------------------------------------------------------------------
ACTIVE = ["=1+2", "+1", "-1", "@SUM(A1)", "\t=1+2", "\r=1+2", "\n=1+2", "  =1+2", "\u00a0=1", '"=1+2', "'=1+2",
          " '\"@SUM(A1)", "\u201c=1", "\uff1d1+2", "\x00=1", '=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0"]
INERT = ["DHL", "a=b", "1+2", "x-1", "", " x", "'quoted'", 'say "hi"', "a,b;c"]


def test_csv_neutralises_every_spreadsheet_active_form() -> None:
    body = csv_export.render([{"carrier": value, "shipment_id": "s"} for value in ACTIVE + INERT])
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["carrier"] for r in rows] == ["'" + v for v in ACTIVE] + INERT
    assert all(len(r) == len(csv_export.COLUMNS) for r in rows)  # no value split or joined a cell


def test_csv_follows_owasps_examples_byte_for_byte() -> None:
    """OWASP: wrap every field in double quotes, prefix the formula with a quote, double embedded quotes."""
    lines = csv_export.render([{"carrier": '=1+2";=1+2'}, {"carrier": "=1+2'\" ;,=1+2"}]).split("\r\n")
    assert '"\'=1+2"";=1+2"' in lines[1].split(",")
    assert '"\'=1+2\'"" ;,=1+2"' in lines[2]
    assert lines[0].startswith('"shipment_id","status"')


def test_csv_export_neutralises_event_values(client: Client, dash_stack: Stack) -> None:
    forms = {"carrier": "@SUM(1+1)*cmd", "order_ref": "\t=1+2", "tracking_number": ' "=HYPERLINK(1)'}
    dash_stack.ingest([shipment_event("a-csv2", "IN_TRANSIT", "2026-11-20T00:02:00Z", merchant_id=A, **forms)])
    response = client.http.get("/api/v1/shipments.csv?carrier=" + quote(forms["carrier"], safe=""),
                               headers=bearer(dash_stack))
    row = next(csv.DictReader(io.StringIO(response.body.decode())))
    assert {k: row[k] for k in forms} == {k: "'" + v for k, v in forms.items()}


# -- bounded caches and the throttle ------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ttl_cache_is_bounded_and_expires() -> None:
    clock = Clock()
    cache: TTLCache[str, str | None] = TTLCache(3, 30.0, clock)
    for key in "abcd":
        cache.put(key, None)
    assert len(cache) == 3 and cache.get("a") is None and cache.get("b") == (None,)
    cache.get("b")  # used: "c" is now the least recently used
    cache.put("e", "x")
    assert cache.get("c") is None and cache.get("b") == (None,)
    clock.now += 30
    assert cache.get("b") is None and cache.get("e") is None


def test_the_api_key_cache_stays_bounded_under_random_keys() -> None:
    class Merchants:
        queries = 0

        def query(self, **_: Any) -> dict[str, Any]:
            self.queries += 1
            return {"Items": []}

    table = Merchants()
    keys = MerchantKeys(table, "merchants", max_keys=100)
    for n in range(5000):
        assert keys.merchant_for_key(f"lk_guess_{n}") is None
    assert len(keys._keys) == 100 and table.queries == 5000
    keys.merchant_for_key("lk_guess_4999")
    assert table.queries == 5000  # the newest are still cached


def test_throttle_delays_grow_per_address_and_are_forgotten() -> None:
    clock = Clock()
    throttle = FailureThrottle(free=3, window_s=900, max_delay_s=60, max_entries=50, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("1.2.3.4") == 0
        throttle.failed("1.2.3.4")
    assert throttle.retry_after("1.2.3.4") == 1 and throttle.retry_after("5.6.7.8") == 0
    waits = []
    for _ in range(8):
        clock.now += throttle.retry_after("1.2.3.4")
        throttle.failed("1.2.3.4")
        waits.append(throttle.retry_after("1.2.3.4"))
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]
    clock.now += 900
    assert throttle.retry_after("1.2.3.4") == 0
    for n in range(500):
        throttle.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(throttle) == 50


def test_repeated_failed_logins_get_429_even_for_a_right_key(client: Client, dash_stack: Stack) -> None:
    with deps().overridden(throttle=FailureThrottle(free=3)):
        for _ in range(3):
            assert login(client, "lk_wrong").status_code == 401
        for attempt in (lambda: login(client, "lk_wrong"), lambda: login(client, dash_stack.keys[A]),
                        lambda: client.http.get("/api/v1/me", headers=bearer(dash_stack))):
            response = attempt()
            assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
            assert "Set-Cookie" not in response.headers and secured(response)
    assert login(client, dash_stack.keys[A]).status_code == 303  # a fresh throttle: back to normal


# -- lists are filtered by the caller's merchant -------------------------------------------------------------
@pytest.fixture(scope="module")
def planted(dash_stack: Stack) -> Iterator[str]:
    """An item of merchant B under merchant A's index keys (``<merchant>#<value>`` hash keys collide when
    ids contain '#'), plus a notification and a timeline entry of B under A's shipment keys."""
    db, env = dash_stack.dynamodb, dash_stack.env
    item = db.get_item(TableName=env["SHIPMENTS_TABLE"], Key={"merchant_id": {"S": B}, "shipment_id": {"S": "b-001"}})
    raw = dict(item["Item"])
    old = "2026-11-19T00:00:00.000Z#b-planted"
    raw.update({
        "shipment_id": {"S": "b-planted"}, "merchant_status": {"S": f"{A}#IN_TRANSIT"}, "status_key": {"S": old},
        "merchant_carrier": {"S": f"{A}#DHL"}, "merchant_geo": {"S": f"{A}#EU"},
        "merchant_warehouse": {"S": f"{A}#w-alpha"}, "attention_merchant": {"S": A}, "created_key": {"S": old},
        "tracking_number": {"S": "PLANTED-1"},
    })
    db.put_item(TableName=env["SHIPMENTS_TABLE"], Item=raw)
    notes = db.query(TableName=env["NOTIFICATIONS_TABLE"], KeyConditionExpression="shipment_key = :k",
                     ExpressionAttributeValues={":k": {"S": f"{A}#a-route"}}, Limit=1)["Items"]
    assert notes, "the seed should have notified about a-route"
    note = dict(notes[0])
    range_attr = next(k["AttributeName"] for k in db.describe_table(TableName=env["NOTIFICATIONS_TABLE"])
                      ["Table"]["KeySchema"] if k["KeyType"] == "RANGE")
    note.update({range_attr: {"S": "9999-planted"}, "merchant_id": {"S": B}})
    db.put_item(TableName=env["NOTIFICATIONS_TABLE"], Item=note)
    entry = dict(db.query(TableName=env["TIMELINE_TABLE"], KeyConditionExpression="entity = :e",
                          ExpressionAttributeValues={":e": {"S": f"{A}#S#a-route"}}, Limit=1)["Items"][0])
    event = json.loads(entry["event"]["S"])
    event.update({"merchant_id": B, "event_id": "planted-event", "city": "PLANTED"})
    entry.update({"at": {"S": "2026-11-22T23:59:00.000Z#planted"}, "event": {"S": json.dumps(event)}})
    db.put_item(TableName=env["TIMELINE_TABLE"], Item=entry)
    return "b-planted"


def test_an_item_of_another_merchant_under_a_colliding_index_key_never_appears(
    client: Client, dash_stack: Stack, planted: str
) -> None:
    db, env = dash_stack.dynamodb, dash_stack.env
    # The index really returns it for A's key: the filter, not the key, keeps it out.
    found = db.query(TableName=env["SHIPMENTS_TABLE"], IndexName="by_status",
                     KeyConditionExpression="merchant_status = :h",
                     ExpressionAttributeValues={":h": {"S": f"{A}#IN_TRANSIT"}})["Items"]
    assert planted in [from_attributes(k)["shipment_id"] for k in found]
    for path in ("/api/v1/shipments?status=IN_TRANSIT&limit=200", "/api/v1/shipments?carrier=DHL&limit=200",
                 "/api/v1/shipments?region=EU&limit=200", "/api/v1/shipments?needs_attention=true&limit=200",
                 "/api/v1/shipments?warehouse=w-alpha&limit=200", "/api/v1/shipments?limit=200",
                 "/api/v1/attention?hours=1&limit=200", "/api/v1/warehouses/w-alpha",
                 "/api/v1/shipments.csv?status=IN_TRANSIT", "/api/v1/search?q=PLANTED-1",
                 "/api/v1/changes?since=1970-01-01T00%3A00%3A00.000Z&limit=200", "/", "/shipments?status=IN_TRANSIT",
                 "/attention?hours=1", "/warehouses"):
        response = client.http.get(path, headers=bearer(dash_stack))
        assert response.status_code == 200, path
        assert planted not in response.body.decode(), path
    notes = json.loads(client.http.get("/api/v1/shipments/a-route/notifications", headers=bearer(dash_stack)).body)
    assert notes["items"] and all("9999-planted" not in json.dumps(n) for n in notes["items"])
    timeline = client.http.get("/api/v1/shipments/a-route/timeline", headers=bearer(dash_stack)).body.decode()
    assert "a-route" in timeline and "PLANTED" not in timeline and "planted-event" not in timeline
    # B still sees its own item.
    own = client.http.get("/api/v1/shipments?limit=200", headers=bearer(dash_stack, B)).body.decode()
    assert planted in own
