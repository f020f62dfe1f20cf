"""The dashboard in headless Chromium: served by chalice.local on a free port, with data produced through
the real pipeline: a stack deployed from template.yaml on moto, events produced to the embedded Kafka,
delivered by the emulated event-source mappings to the ingest and notify functions (see ``Pipeline``)."""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chalice.config import Config
from chalice.local import create_local_server
from confluent_kafka import Producer

from local_runtime.runtime import LocalPlatform, PlatformOptions
from local_runtime.services.aws import free_port
from logistics.adapters.codec import from_attributes
from tests.factories import shipment_event
from tests.integration.dashboard.support import PLACES, ROOT, Stack, load_app, seed, stack_environment

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-output" / "browser"
A, B = "m-alpha", "m-beta"
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"


def now_utc(offset_s: int = 0) -> str:
    return datetime.fromtimestamp(time.time() + offset_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Pipeline:
    """The local runtime on the test's stack: Kafka topics, emulated mappings, in-process functions."""

    def __init__(self, moto_endpoint: str, kafka_bootstrap: str, stack_name: str) -> None:
        suffix = uuid.uuid4().hex[:6]
        self.topics = {"shipment-events": f"ui-shipments-{suffix}", "warehouse-events": f"ui-warehouse-{suffix}"}
        self.platform = LocalPlatform(PlatformOptions(
            template=ROOT / "template.yaml", stack_name=stack_name, dashboard_port=None,
            aws_endpoint=moto_endpoint, kafka_bootstrap=kafka_bootstrap,
            parameter_overrides={"ShipmentTopic": self.topics["shipment-events"],
                                 "WarehouseTopic": self.topics["warehouse-events"],
                                 "IngestConsumerGroupId": f"ui-{suffix}",
                                 "KafkaSchemaRegistry": "Disabled"})).start()  # its producer sends plain JSON
        self.producer = Producer({"bootstrap.servers": kafka_bootstrap})
        self.produced: Counter[str] = Counter()

    def ingest(self, payloads: list[Any], topic: str = "shipment-events") -> None:
        """Produce to Kafka and wait until the ingest function has committed every record."""
        name = self.topics[topic]
        for payload in payloads:
            value = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            key = None if isinstance(payload, bytes) else (payload.get("shipment_id") or payload.get("warehouse_id"))
            self.producer.produce(name, value=value, key=key)
            self.produced[name] += 1
        assert self.producer.flush(30) == 0
        deadline = time.monotonic() + 60
        while self.committed() != dict(self.produced):
            assert time.monotonic() < deadline, (self.committed(), self.produced)
            time.sleep(0.1)

    def committed(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for mapping in self.platform.kafka_mappings:
            for tp, offset in mapping.committed_offsets().items():
                totals[tp.rsplit("-", 1)[0]] += int(offset)
        return {topic: n for topic, n in totals.items() if n}

    def notify_pending(self) -> None:
        """Wait until the stream mapping has delivered every change to the notify function."""
        mapping = self.platform.stream_mappings[0]
        stable, last = 0, -1
        deadline = time.monotonic() + 60
        while stable < 3:
            assert time.monotonic() < deadline, "the stream mapping did not settle"
            counters = mapping.counters.snapshot()
            seen = counters["records_delivered"] + counters["records_filtered"]
            stable = stable + 1 if seen == last and not counters["lag"] else 0
            last = seen
            time.sleep(0.3)


@pytest.fixture(scope="module")
def dash_stack(moto_endpoint: str, kafka_bootstrap: str) -> Iterator[Stack]:
    name = f"dash-ui-{uuid.uuid4().hex[:8]}"
    with stack_environment(moto_endpoint, name) as deployed:
        pipeline = Pipeline(moto_endpoint, kafka_bootstrap, name)
        # Every event of these tests, the seed data included, goes through Kafka and the functions.
        deployed.ingest = pipeline.ingest  # type: ignore[method-assign]
        deployed.notify_pending = pipeline.notify_pending  # type: ignore[method-assign]
        try:
            seed(deployed)
            deployed.issue_key(A)
            deployed.issue_key(B)
            yield deployed
        finally:
            pipeline.platform.stop()


@pytest.fixture(scope="module")
def publish_event(dash_stack: Stack) -> Callable[[dict[str, Any]], None]:
    """The one way these tests make an event happen: produce it to Kafka, as a carrier feed would."""
    def publish(payload: dict[str, Any]) -> None:
        dash_stack.ingest([payload])
        dash_stack.notify_pending()
    return publish


@pytest.fixture(scope="module")
def base_url(dash_stack: Stack) -> Iterator[str]:
    app = load_app().app
    port = free_port()
    server = create_local_server(app, Config.create(chalice_stage="dev", app_name="logistics-dashboard"),
                                 "127.0.0.1", port)
    thread = threading.Thread(target=server.server.serve_forever, name="chalice-local", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu",
                                            "--disable-background-networking"])
        yield chromium
        chromium.close()


class Session:
    """A browser context signed in as one merchant, recording dialogs and console errors."""

    def __init__(self, browser: Any, base_url: str, key: str) -> None:
        self.context = browser.new_context(viewport={"width": 1360, "height": 900})
        self.page = self.context.new_page()
        self.base_url = base_url
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(f"{base_url}/login")
        self.page.fill("#api_key", key)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{base_url}/")

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def merchant_a(browser: Any, base_url: str, dash_stack: Stack) -> Iterator[Session]:
    session = Session(browser, base_url, dash_stack.keys[A])
    yield session
    session.close()


def shipments_of(dash_stack: Stack, merchant: str) -> list[dict[str, Any]]:
    page = dash_stack.dynamodb.query(TableName=dash_stack.env["SHIPMENTS_TABLE"],
                                     KeyConditionExpression="merchant_id = :m",
                                     ExpressionAttributeValues={":m": {"S": merchant}})
    return [from_attributes(i) for i in page["Items"]]


def wait_until(page: Any, expression: str, timeout_s: float = 10.0) -> None:
    """Poll a JS expression until it is truthy. (Playwright's wait_for_function evaluates its predicate
    with eval, which the dashboard's CSP rightly forbids; page.evaluate goes through the debugger.)"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.1)


LIVE = "document.getElementById('last-updated').textContent !== '—'"


def canvas_has_ink(page: Any, canvas_id: str) -> int:
    return page.evaluate("""id => {
        const c = document.getElementById(id);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { n++; } }
        return n;
    }""", canvas_id)


def test_login_form_rejects_a_wrong_key(browser: Any, base_url: str) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{base_url}/shipments")
        assert page.url.startswith(f"{base_url}/login?next=")
        page.fill("#api_key", "lk_wrong")
        page.click("button[type=submit]")
        assert page.locator(".error").inner_text() == "That API key is not valid."
    finally:
        page.close()


def test_overview_renders_kpis_and_charts(merchant_a: Session, dash_stack: Stack) -> None:
    page = merchant_a.page
    page.wait_for_selector("body[data-charts=drawn]")
    shipments = shipments_of(dash_stack, A)
    assert page.locator("#kpi-total").inner_text() == str(len(shipments))
    assert page.locator("#kpi-delivered").inner_text() == str(sum(s["status"] == "DELIVERED" for s in shipments))
    assert page.locator("#kpi-exceptions").inner_text() == "1"
    assert page.locator("#kpi-ontime").inner_text() == "50%"
    assert page.locator("#kpi-transit").inner_text() == "24.0 h"
    for chart in ("chart-status", "chart-throughput", "chart-delays"):
        assert canvas_has_ink(page, chart) > 500, chart
    assert page.locator("#recent tbody tr").count() == 12
    assert page.locator("#attention-list li").count() == 1
    wait_until(page, LIVE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)
    assert not merchant_a.errors, merchant_a.errors


def test_detail_page_shows_timeline_and_route(merchant_a: Session) -> None:
    page = merchant_a.page
    merchant_a.goto("/shipments/a-route")
    assert page.locator("#detail-status .pill").inner_text() == "Out for delivery"
    rows = page.locator("#timeline tbody tr")
    assert rows.count() == 6
    assert page.locator("#timeline tr.disp-late").count() == 1
    assert page.locator("#timeline .kind-w").count() == 1
    assert page.locator("svg.route polyline").count() == 1
    assert page.locator("svg.route circle").count() == 4
    assert page.locator("svg.route text").all_text_contents() == ["Leipzig", "Berlin", "Hamburg", "Copenhagen"]
    page.screenshot(path=str(SHOTS / "detail.png"), full_page=True)
    assert not merchant_a.errors, merchant_a.errors


def test_a_new_event_appears_without_reload(merchant_a: Session, publish_event: Callable[..., None]) -> None:
    page = merchant_a.page
    wait_until(page, LIVE)
    page.evaluate("window.__sameDocument = true")
    before = page.locator("#kpi-total").inner_text()
    publish_event(shipment_event("a-fresh", "OUT_FOR_DELIVERY", now_utc(), merchant_id=A, location=PLACES["JP"]))
    row = page.locator("#recent tbody tr").first
    row.wait_for(state="attached")
    wait_until(page, "document.querySelector('#recent tbody tr').dataset.shipmentId === 'a-fresh'",
                           10)
    assert "Out for delivery" in row.inner_text() and "Osaka, JP" in row.inner_text()
    wait_until(page, f"document.getElementById('kpi-total').textContent === '{int(before) + 1}'",
                           15)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened

    # The detail page of a shipment follows its new events too.
    merchant_a.goto("/shipments/a-fresh")
    page.evaluate("window.__sameDocument = true")
    wait_until(page, LIVE)
    publish_event(shipment_event("a-fresh", "DELIVERED", now_utc(1), merchant_id=A, location=PLACES["JP"]))
    wait_until(page, "document.querySelector('#detail-status .pill').dataset.status === 'DELIVERED'",
                           10)
    assert page.locator("#timeline tbody tr").count() == 2
    assert page.evaluate("window.__sameDocument") is True


def test_merchant_a_never_sees_merchant_b(merchant_a: Session, dash_stack: Stack,
                                          publish_event: Callable[..., None]) -> None:
    page = merchant_a.page
    merchant_a.goto("/shipments?limit=200")
    assert page.locator("#shipments tbody tr").count() == len(shipments_of(dash_stack, A))
    publish_event(shipment_event("b-secret", "IN_TRANSIT", now_utc(5), merchant_id=B, location=PLACES["FR"]))
    publish_event(shipment_event("a-visible", "IN_TRANSIT", now_utc(6), merchant_id=A, location=PLACES["DE"]))
    merchant_a.goto("/shipments")
    wait_until(page, LIVE)
    publish_event(shipment_event("b-secret", "OUT_FOR_DELIVERY", now_utc(7), merchant_id=B,
                                 location=PLACES["FR"]))
    publish_event(shipment_event("a-visible", "OUT_FOR_DELIVERY", now_utc(8), merchant_id=A,
                                 location=PLACES["DE"]))
    wait_until(page, "[...document.querySelectorAll('#shipments tbody tr')].some(r => "
                           "r.dataset.shipmentId === 'a-visible' && r.innerText.includes('Out for delivery'))",
                           10)
    time.sleep(2.5)  # one more poll after A's event: B's newer one must not come through either
    for path in ("/shipments", "/", "/attention", "/warehouses", "/dead-letters"):
        merchant_a.goto(path)
        text = page.content()
        assert "b-secret" not in text and "b-001" not in text and "w-beta" not in text, path
    for term in ("b-secret", "TRK-b-001", "order-b-001"):  # the page echoes the term; the results are empty
        merchant_a.goto(f"/shipments?q={term}")
        assert page.locator("#shipments tbody tr").count() == 0, term
        assert "Berlin" not in page.locator("#shipments").inner_text() and "FR" not in page.content(), term
    response = merchant_a.goto("/shipments/b-001")
    assert response.status == 404 and "b-001" not in page.content()


def test_event_fields_render_as_text_and_run_nothing(merchant_a: Session, dash_stack: Stack,
                                                     publish_event: Callable[..., None]) -> None:
    page = merchant_a.page
    hostile = {"city": XSS_IMG, "region": XSS_SCRIPT, "country": "DE", "lat": 50.1, "lon": 8.7,
               "facility_id": "<b>bold</b>"}
    merchant_a.goto("/")
    wait_until(page, LIVE)
    # Arrives while the page is open: rendered by the live-update script.
    publish_event(shipment_event("a-xss", "EXCEPTION", now_utc(20), merchant_id=A, location=hostile,
                                 carrier=XSS_IMG, sub_status=XSS_SCRIPT, order_ref=XSS_SCRIPT,
                                 tracking_number=XSS_IMG,
                                 exception={"reason": XSS_IMG, "responsible_party": "customer",
                                            "action_required": "<iframe src=javascript:alert(2)>"}))
    wait_until(page, "document.querySelector('#recent tbody tr').dataset.shipmentId === 'a-xss'",
                           10)
    # Rendered by the script (textContent): text, not markup.
    live_row = page.locator("#recent tbody tr").first
    assert XSS_IMG in live_row.inner_text() and "<script>" in live_row.inner_text()
    assert page.locator("img").count() == 0 and page.locator("#recent script").count() == 0
    time.sleep(0.5)
    assert merchant_a.dialogs == [] and page.evaluate("typeof window.__xss") == "undefined"
    pages = ["/shipments/a-xss", "/shipments", "/attention", "/shipments?q=a-xss", "/"]
    checked = [page]
    for path in pages:
        merchant_a.goto(path)
        page.wait_for_load_state("networkidle")
        checked.append(path)
        assert page.get_by_text(XSS_IMG, exact=True).first.is_visible(), path
        assert page.locator("img").count() == 0, path
        assert page.locator("iframe").count() == 0, path
        assert page.locator("script:not([src]):not([type='application/json'])").count() == 0, path
    merchant_a.goto("/shipments/a-xss")
    assert page.get_by_text(XSS_SCRIPT, exact=True).first.is_visible()
    assert page.locator("svg.route text").count() == 0 or XSS_IMG not in page.locator("svg.route").inner_html()
    token = from_attributes(dash_stack.dynamodb.get_item(TableName=dash_stack.env["SHIPMENTS_TABLE"], Key={
        "merchant_id": {"S": A}, "shipment_id": {"S": "a-xss"}})["Item"])["tracking_token"]
    merchant_a.goto(f"/track/{token}")
    assert page.get_by_text(XSS_IMG).first.is_visible() and page.locator("img").count() == 0
    assert merchant_a.dialogs == []
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_customer_tracking_page_needs_its_token(browser: Any, base_url: str, dash_stack: Stack) -> None:
    token = from_attributes(dash_stack.dynamodb.get_item(TableName=dash_stack.env["SHIPMENTS_TABLE"], Key={
        "merchant_id": {"S": A}, "shipment_id": {"S": "a-route"}})["Item"])["tracking_token"]
    page = browser.new_page()  # no session: the tracking page is public
    try:
        response = page.goto(f"{base_url}/track/{token}")
        assert response.status == 200
        assert page.locator("h1 .pill").inner_text() == "Out for delivery"
        assert page.locator("ol.journey li").count() == 5
        assert "Copenhagen" in page.locator("ol.journey").inner_text()
        assert A not in page.content() and "a-route-late" not in page.content()
        page.screenshot(path=str(SHOTS / "tracking.png"), full_page=True)
        for bad in ("", "nope", token[:-2] + "zz"):
            response = page.goto(f"{base_url}/track/{bad}")
            assert response.status in (403, 404), bad
            assert "Copenhagen" not in page.content()
        # And a signed-out visitor cannot reach the dashboard itself.
        page.goto(f"{base_url}/shipments/a-route")
        assert page.url.startswith(f"{base_url}/login")
    finally:
        page.close()


def test_replay_button_replays_a_dead_letter(merchant_a: Session, dash_stack: Stack) -> None:
    """The page's script posts with the session cookie and the CSRF header; the publisher gets the bytes."""
    from tests.integration.dashboard.support import CapturingPublisher, deps

    page = merchant_a.page
    merchant_a.goto("/dead-letters")
    rows = page.locator("#dead-letters tbody tr")
    assert rows.count() == 1  # A's own poison record only
    key = rows.first.get_attribute("data-dlq-key")
    assert key and B not in page.content()
    publisher = CapturingPublisher()
    with deps().overridden(publisher=publisher):
        page.click("button.replay")
        wait_until(page, "document.querySelector('#dead-letters [data-col=state] .badge').textContent === 'replayed'")
    [sent] = publisher.published
    source_topic = key.split("#", 1)[1].rsplit("@", 1)[0].rsplit("-", 1)[0]  # <ts>#<topic>-<partition>@<offset>
    assert sent["topic"] == source_topic and b'"TELEPORTED"' in sent["value"]
    assert page.locator("button.replay").first.is_disabled()
    merchant_a.goto("/dead-letters")
    assert page.locator("#dead-letters [data-col=state] .badge").first.inner_text() == "replayed"


def test_logout_from_the_page_ends_the_session(merchant_a: Session) -> None:
    """The header's logout form is a same-origin POST; under ``Referrer-Policy: no-referrer`` Chromium sends
    it with ``Origin: null`` and ``Sec-Fetch-Site: same-origin``, which the origin check accepts."""
    page = merchant_a.page
    merchant_a.goto("/shipments")
    with page.expect_response(lambda r: r.url.endswith("/logout")) as posted:
        page.click("form[action$='/logout'] button")
    assert posted.value.status == 303
    page.wait_for_url(f"{merchant_a.base_url}/login")
    assert not [c for c in merchant_a.context.cookies() if c["name"] == "dash_session"]
    merchant_a.goto("/shipments")
    assert page.url.startswith(f"{merchant_a.base_url}/login?next=")


def test_a_cross_site_page_cannot_log_a_browser_in_or_out(browser: Any, base_url: str, dash_stack: Stack) -> None:
    """Login CSRF: another site's page posts the login form (with the attacker's own key, so the victim
    would work in the attacker's account) and the logout form. Both are refused with 403 and no cookie."""
    import http.server

    dashboard = base_url
    key = dash_stack.keys[B]

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            action = "/login" if self.path == "/in" else "/logout"
            body = (f'<form method="post" action="{dashboard}{action}">'
                    f'<input name="api_key" value="{key}"><input name="next" value="/">'
                    f'<button type="submit">win a prize</button></form>').encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Attacker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context()
    try:
        page = context.new_page()
        for action in ("in", "out"):
            # "localhost" is another site than "127.0.0.1" (and another port is another origin anyway).
            page.goto(f"http://localhost:{server.server_address[1]}/{action}")
            with page.expect_response(lambda r: r.url.startswith(dashboard)) as posted:
                page.click("button")
            assert posted.value.status == 403, action
            assert posted.value.headers.get("x-frame-options") == "DENY"
        assert not [c for c in context.cookies() if c["name"] == "dash_session"]
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def test_lanes_page_shows_the_lane_table_and_sparklines(browser: Any, base_url: str, dash_stack: Stack) -> None:
    # A merchant of its own: the dashboard keeps a merchant's lane statistics for a minute, and the other
    # tests have already read (empty) ones for A.
    from logistics.adapters.dynamodb_lanes import DynamoDBLaneStore
    from logistics.domain.lanes import Histogram, LaneStats

    merchant = f"m-lanes-{uuid.uuid4().hex[:6]}"
    store = DynamoDBLaneStore(dash_stack.dynamodb, dash_stack.env["LANES_TABLE"])
    for lane, days in (("DHL|-|DE>Europe/Berlin", {"2026-11-26": [6, 5, 6], "2026-11-28": [9, 7, 9]}),
                       ("UPS|express|DE>Europe/Paris", {"2026-11-27": [2, 2, 2], "2026-11-28": [3, 1, 3]})):
        transit = Histogram()
        transit.add(30.0, sum(v[0] for v in days.values()))
        stats = LaneStats(sum(v[0] for v in days.values()), sum(v[1] for v in days.values()),
                          sum(v[2] for v in days.values()), {"transit": transit}, days)
        store.merge(merchant, f"L#{lane}", stats, "ui")
        store.merge(merchant, f"C#{lane.split('|')[0]}", stats, "ui")
    session = Session(browser, base_url, dash_stack.issue_key(merchant))
    try:
        page = session.page
        page.click("nav >> text=Lanes")
        page.wait_for_url(f"{base_url}/lanes")
        rows = page.locator("#lanes tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).locator("td").all_inner_texts()[:5] == ["DHL", "-", "DE → Europe/Berlin", "15", "80%"]
        sparks = page.locator("#lanes svg.spark polyline")
        assert sparks.count() == 2
        box = sparks.nth(0).bounding_box()
        assert box is not None and box["width"] > 50 and box["height"] > 5  # drawn, and not flat
        assert page.locator("#by-carrier tbody tr").count() == 2
        assert page.locator("#lanes-csv").get_attribute("href") == "/api/v1/lanes.csv"
        page.screenshot(path=str(Path(tempfile.gettempdir()) / "dashboard-lanes.png"), full_page=True)
        assert not session.errors, session.errors
    finally:
        session.close()
