"""The shipment page in headless Chromium shows the original prediction next to the current one.

A stack of its own with no Kafka pipeline (the prediction rows read LanesTable only): the shipment is written
through the real ingest service, its lane's statistics and the original prediction through the same adapters
LanesFunction and the notifier use. The browser, the dashboard server and the signed-in session are the ones
of ``test_dashboard_browser``; the dashboard server is started here (see ``base_url``).
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chalice.config import Config
from chalice.local import CustomLocalChalice, LocalDevServer, create_local_server

from local_runtime.services.aws import free_port
from logistics.adapters.dynamodb_lanes import DynamoDBLaneStore
from logistics.adapters.dynamodb_predictions import DynamoDBToldPredictions
from logistics.domain.lanes import Histogram, LaneStats
from tests.browser.test_dashboard_browser import Session, browser  # noqa: F401  (the fixture reused)
from tests.factories import shipment_event
from tests.integration.dashboard.support import Stack, load_app, stack_environment

pytestmark = pytest.mark.browser

LANE = "DHL|-|DE>Europe/Berlin"  # the lane of shipment_event's defaults: DHL, Berlin to a Berlin customer


NOW = datetime.now(UTC)  # once, so the fixture and the test agree on the dates even across midnight


def original_prediction() -> dict[str, Any]:
    """A first prediction made at the shipment's pickup, an hour ago, a day earlier than the lane says now."""
    day, next_day = ((NOW + timedelta(days=n)).date().isoformat() for n in (1, 2))
    return {"likely": day, "earliest": day, "latest": next_day, "basis": "lane", "samples": 9,
            "carrier_eta": next_day, "trending_late": False, "made_at": (NOW - timedelta(minutes=50)).isoformat(),
            "likely_at": f"{day}T12:00:00+00:00"}


@pytest.fixture(scope="module")
def dash_stack(moto_endpoint: str) -> Iterator[Stack]:
    """A shipment in transit for an hour, its lane learned (20 deliveries, 48 h left in transit) and its
    original prediction recorded; a merchant of its own (the dashboard caches a merchant's lanes a minute)."""
    merchant = f"m-orig-{uuid.uuid4().hex[:6]}"
    with stack_environment(moto_endpoint, f"pred-ui-{uuid.uuid4().hex[:8]}") as deployed:
        deployed.ingest([shipment_event("p-1", "IN_TRANSIT", (NOW - timedelta(hours=1)).isoformat(),
                                        merchant_id=merchant,
                                        eta={"date": (NOW + timedelta(days=2)).date().isoformat()})])
        transit, remaining = Histogram(), Histogram()
        transit.add(30.0, 20)
        remaining.add(48.0, 20)
        stats = LaneStats(20, 15, 20, {"transit": transit, "IN_TRANSIT": remaining}, {})
        DynamoDBLaneStore(deployed.dynamodb, deployed.env["LANES_TABLE"]).merge(merchant, f"L#{LANE}", stats, "ui")
        DynamoDBToldPredictions(deployed.dynamodb, deployed.env["LANES_TABLE"]).record_original(
            merchant, "p-1", original_prediction())
        deployed.issue_key(merchant)
        yield deployed


@pytest.fixture(scope="module")
def base_url(dash_stack: Stack) -> Iterator[str]:
    """The dashboard on chalice.local. The app module is shared by the session, and chalice's
    ``create_local_server`` rebases the app's class, which it cannot do twice: over an app already rebased (by
    ``test_dashboard_browser``'s server) the server is made directly; a rebase done here is undone after."""
    app = load_app().app
    rebased_here = type(app)
    config = Config.create(chalice_stage="dev", app_name="logistics-dashboard")
    port = free_port()
    if isinstance(app, CustomLocalChalice):
        server = LocalDevServer(app, config, "127.0.0.1", port)
    else:
        server = create_local_server(app, config, "127.0.0.1", port)
    thread = threading.Thread(target=server.server.serve_forever, name="chalice-local-prediction", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(5)
        app.__class__ = rebased_here  # unchanged when it was already rebased


def test_shipment_page_shows_the_original_prediction_beside_the_current(
        browser: Any, base_url: str, dash_stack: Stack) -> None:  # noqa: F811  (the imported fixture)
    [key] = dash_stack.keys.values()
    session = Session(browser, base_url, key)
    try:
        page = session.page
        session.goto("/shipments/p-1")
        terms = page.locator("#facts dt").all_inner_texts()
        values = dict(zip(terms, page.locator("#facts dd").all_inner_texts(), strict=True))
        # The current prediction, computed now from the lane, and the original kept when it was first made.
        predicted = datetime.fromisoformat(values["Predicted"].split()[0]).date()
        assert NOW.date() <= predicted <= NOW.date() + timedelta(days=3), values
        original = original_prediction()
        assert values["Original prediction"] == (f"{original['likely']} ({original['earliest']} to "
                                                  f"{original['latest']}), made {original['made_at'][:10]}")
        assert terms.index("Original prediction") == terms.index("Window p10-p90") + 1
        assert values["Based on"] == "lane statistics, 20 deliveries"
        page.locator("#facts").screenshot(path=str(Path(tempfile.gettempdir()) / "dashboard-original.png"))
        assert not session.errors, session.errors
    finally:
        session.close()
