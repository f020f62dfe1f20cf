"""Hostile input, property-based: every route of the app's routing table (``app.routes``, so a new
route is covered without touching this file) gets arbitrary path parameters, query parameters (the
ones the route reads and arbitrary ones, repeated, huge, unicode, control characters, percent-encoding
oddities), form bodies for POSTs, and arbitrary credentials and headers (Cookie, Authorization,
X-Api-Key, Origin, Referer, Host, Content-Type, Sec-Fetch-Site...). The answer is never a 500: always
one of the statuses the README documents, always with the security headers, and a redirect never
leaves the site.

Requests go through Chalice's test client (the gateway emulation ``chalice local`` uses) to the
module's stack on DynamoDB Local. ``DASHBOARD_FUZZ_EXAMPLES`` sets the examples per route family
(default 300; there are five families). No deadline: DynamoDB Local's latency varies with the load.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlencode

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.dashboard.support import CapturingPublisher, Stack, deps, load_app

EXAMPLES = int(os.environ.get("DASHBOARD_FUZZ_EXAMPLES", "300"))
HOST = "dashboard.test"
ORIGIN = f"http://{HOST}"
FORM = "application/x-www-form-urlencoded"
A = "m-alpha"

APP = load_app().app
from chalicelib import guard  # noqa: E402  (importable once load_app put functions/dashboard on the path)
from chalicelib.http import SECURITY_HEADERS  # noqa: E402
from chalicelib.validation import ListRequest  # noqa: E402

# The statuses the README documents, by method. 200/303 are valid input; 409 is a replay's state.
GET_STATUSES = {200, 303, 400, 401, 404, 429}
POST_STATUSES = {200, 303, 400, 401, 403, 404, 409, 415, 429}
# Every parameter name the app reads somewhere; each route also gets the ones it names itself.
KNOWN_PARAMS = sorted({*ListRequest.PARAMS, "q", "hours", "sample", "since", "limit", "cursor", "next"})
FORM_FIELDS = ["api_key", "next"]


def family(path: str, method: str) -> str:
    """Route families, by rule, so every route (a new one too) lands in exactly one."""
    if path in guard.PUBLIC_ROUTES:
        return "public"
    if method != "GET":
        return "writes"
    if not path.startswith("/api/"):
        return "pages"
    return "api-item" if "{" in path else "api-list"


ENDPOINTS = sorted((path, method) for path, methods in APP.routes.items() for method in methods)
FAMILIES: dict[str, list[tuple[str, str]]] = {}
for _endpoint in ENDPOINTS:
    FAMILIES.setdefault(family(*_endpoint), []).append(_endpoint)


# -- strategies ----------------------------------------------------------------------------------------
ODD = [
    "", " ", "%", "%%", "%zz", "%0", "%00", "%0d%0a", "%C3%28", "%FF", "%2F", "%2f%2fevil.example", "%5C",
    "%252F", "%25", "%u0041", "+", "&", "=", "?", ";", ".", "..", "../..", "/", "//evil.example", "/\\evil",
    "\\\\evil", "/%2F/evil.example", "/%09/evil.example", "https://evil.example/", "javascript:alert(1)",
    "\u00b2", "\u0663", "\u0661\u0660", "-1", "0", "1e3", "0x10", " 5", "5 ", "5\n", "9" * 30,
    "EU", "eu", "IN_TRANSIT", "DE", "de",
    "\u00df", "\u0131", "true", "yes", "2026-11-20", "2026-11-20T10:00:00Z", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "0999-01-01T00:00:00Z", "2026-11-20T10:00:00.000Z#a-001",
    "2026-11-20T10:00:00.000Z\n", "1700000000000#shipment-events-0@1", "1700000000000#" + "😀" * 300,
    "a-route", "a-route\n", "w-alpha", "\x00", "\r\n", "\x85", "\u2028", "\ufeff", "\u202e", "<script>", "'\"",
    "null", "{}", "[]", "a.b", "e30.AAAA", "é.é",
]
hostile_short = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=24),
    st.text(st.characters(max_codepoint=0xA0), max_size=24),
    st.lists(st.sampled_from(ODD), min_size=2, max_size=4).map("".join),
)
hostile = st.one_of(
    hostile_short,
    st.builds(lambda piece, n: piece * n, st.sampled_from(["9", "a", "é", "%", "/", "😀", "%2F", "\x00"]),
              st.integers(200, 6000)),
)
# Header values may hold anything a JSON event can carry, lone surrogates included.
header_value = st.one_of(hostile, st.sampled_from(["\ud800", "a\udfffb", "Bearer \ud83d"]))


def encode(value: str, raw: bool) -> str:
    """A value as it travels in a URL: properly quoted, or 'raw' (percent signs and URL punctuation
    left as they are, so the gateway's own decoding meets the oddities)."""
    return quote(value, safe="%&=+;:@,!$'()*" if raw else "")


@st.composite
def query_string(draw: st.DrawFn, names: list[str]) -> str:
    pairs = draw(st.lists(st.tuples(st.one_of(st.sampled_from(names), hostile_short), hostile, st.booleans()),
                          max_size=5))
    if pairs and draw(st.booleans()):  # repeat one parameter
        pairs.append(pairs[0])
    return "&".join(f"{encode(name, raw)}={encode(value, raw)}" for name, value, raw in pairs)


@st.composite
def path_for(draw: st.DrawFn, route: str, ids: dict[str, str]) -> str:
    def segment(part: str) -> str:
        if not (part.startswith("{") and part.endswith("}")):
            return part
        value = draw(st.one_of(st.just(ids.get(part, "x")), hostile))
        text = encode(value, draw(st.booleans())).replace("/", "%2F")
        return text or "x"

    return "/".join(segment(part) for part in route.split("/"))


@st.composite
def credentials(draw: st.DrawFn, key: str, session: str) -> dict[str, str]:
    valid = [{"Authorization": f"Bearer {key}"}, {"X-Api-Key": key}, {"Cookie": session}]
    forged = [
        {"Authorization": draw(header_value)},
        {"Authorization": "Bearer " + draw(header_value)},
        {"X-Api-Key": draw(header_value)},
        {"Cookie": draw(header_value)},
        {"Cookie": "dash_session=" + draw(header_value)},
        {"Cookie": session[:-2] + draw(st.sampled_from(["AA", "é", "\\303", '"x"']))},
        {"Cookie": f'{session}; dash_session="{draw(hostile_short)}"'},
        {"Authorization": f"Bearer {key}", "Cookie": draw(header_value)},
        {},
    ]
    return draw(st.one_of(st.sampled_from(valid), st.sampled_from(forged)))


OTHER_HEADERS = {
    "Origin": st.one_of(st.sampled_from([ORIGIN, "null", "http://evil.example", f"https://{HOST}"]), header_value),
    "Referer": st.one_of(st.sampled_from([f"{ORIGIN}/login", "http://evil.example/"]), header_value),
    "Host": st.one_of(st.just(HOST), header_value),
    "Content-Type": st.one_of(st.sampled_from([FORM, f"{FORM}; charset=utf-8", "application/json", "text/plain"]),
                              header_value),
    "X-Requested-With": st.one_of(st.just("dashboard"), header_value),
    "Sec-Fetch-Site": st.one_of(st.sampled_from(["same-origin", "same-site", "cross-site", "none"]), header_value),
    "X-Forwarded-Proto": st.one_of(st.sampled_from(["http", "https", "https,http"]), header_value),
    "Accept": st.one_of(st.just("*/*"), header_value),
}


@st.composite
def form_body(draw: st.DrawFn, key: str) -> bytes:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=300))
    if choice == 1:
        return b""
    fields = draw(st.lists(st.tuples(st.one_of(st.sampled_from(FORM_FIELDS), hostile_short),
                                     st.one_of(st.just(key), hostile)), max_size=4))
    if choice == 2:  # a valid key with a hostile next: the redirect must stay on the site
        fields = [("api_key", key), ("next", draw(hostile)), *fields]
    return urlencode(fields).encode()


# -- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def context(client: Client, dash_stack: Stack) -> Iterator[dict[str, Any]]:
    key = dash_stack.keys[A]
    login = client.http.post("/login", headers={"Content-Type": FORM, "Host": HOST, "Origin": ORIGIN},
                             body=urlencode({"api_key": key}).encode())
    assert login.status_code == 303, login.body
    session = login.headers["Set-Cookie"].split(";")[0]
    ids = {"{shipment_id}": "a-route", "{warehouse_id}": "w-alpha", "{token}": "A" * 24,
           "{name}": "dashboard.js", "{dlq_key}": "1700000000000#shipment-events-0@1"}
    # The parameters each route names itself: an unknown one gets a 400 listing the allowed ones.
    reads: dict[str, list[str]] = {}
    for path, method in ENDPOINTS:
        if method != "GET":
            continue
        concrete = "/".join(quote(ids.get(p, p), safe="") for p in path.split("/"))
        probe = client.http.get(f"{concrete}?zz_probe=1", headers={"Authorization": f"Bearer {key}"})
        found = re.search(r"allowed: ([a-z_, ]*)", probe.body.decode("utf-8", "replace"))
        if found:
            reads[path] = [n for n in found.group(1).split(", ") if n]
    assert {"status", "region", "cursor", "limit"} <= set(reads["/api/v1/shipments"]), reads
    module = deps()
    module.override(publisher=CapturingPublisher())
    try:
        yield {"key": key, "session": session, "ids": ids, "reads": reads}
    finally:
        module.reset()


def check(path: str, method: str, response: Any, request: str) -> None:
    status = response.status_code
    allowed = GET_STATUSES if method == "GET" else POST_STATUSES
    assert status in allowed, (request, status, response.body[:400])
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (request, status, name)
    if status >= 400 and path.startswith("/api/"):
        error = json.loads(response.body)["error"]
        assert error["code"] and error["message"], (request, error)
    if status == 303:  # a redirect stays on this site however often its path is decoded
        location = response.headers["Location"]
        assert location.isascii() and location.startswith("/"), (request, location)
        assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in location), (request, location)
        path = location.split("?")[0]
        for decoded in (path, unquote(path), unquote(unquote(path))):
            assert not decoded.startswith(("//", "/\\")) and "\\" not in decoded, (request, location)
            assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded), (request, location)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_no_input_is_a_500(name: str, client: Client, context: dict[str, Any]) -> None:
    endpoints = FAMILIES[name]
    throttle = deps().throttle()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        throttle.clear()  # one example's failed keys must not turn the next one's valid key into a 429
        path, method = data.draw(st.sampled_from(endpoints), label="endpoint")
        names = context["reads"].get(path) or KNOWN_PARAMS
        url = data.draw(path_for(path, context["ids"]), label="path")
        query = data.draw(query_string(names), label="query")
        headers = data.draw(credentials(context["key"], context["session"]), label="credentials")
        headers.update(data.draw(st.fixed_dictionaries({}, optional=OTHER_HEADERS), label="headers"))
        body = data.draw(form_body(context["key"]), label="body") if method == "POST" else None
        target = f"{url}?{query}" if query else url
        response = client.http.request(method, target, headers=headers, body=body)
        check(path, method, response, f"{method} {target[:300]} {headers!r:.600}")

    run()


def test_every_route_is_in_a_family() -> None:
    assert sorted(e for members in FAMILIES.values() for e in members) == ENDPOINTS
    assert len(ENDPOINTS) >= 25 and set(FAMILIES) == {"public", "pages", "api-list", "api-item", "writes"}
