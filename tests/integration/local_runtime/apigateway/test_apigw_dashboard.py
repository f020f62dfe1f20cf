"""The repository's DashboardFunction (a Chalice app behind ``ANY /`` and ``ANY /{proxy+}``) served through the
local API Gateway with the real invoker, on a stack deployed from template.yaml and seeded by IngestFunction."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from local_runtime.apigateway import ApiGatewayServer
from local_runtime.cloudformation.api_events import api_routes
from tests.integration.conftest import Stack
from tests.integration.dashboard.support import DASHBOARD_DIR, load_app

ROOT = Path(__file__).resolve().parents[4]


@dataclass
class Dashboard:
    url: str
    key: str
    stage: str


@pytest.fixture(scope="module")
def dashboard(moto_endpoint: str) -> Iterator[Dashboard]:
    stack = Stack(moto_endpoint, f"apigw-{uuid.uuid4().hex[:8]}")
    try:
        batch = json.loads((ROOT / "events" / "ingest" / "msk.json").read_text(encoding="utf-8"))
        assert stack.invoker.invoke("IngestFunction", batch) == {"batchItemFailures": []}  # m_acme's shipments
        load_app()  # puts the dashboard's chalicelib on sys.path
        from chalicelib.auth import issue_api_key

        key = issue_api_key(stack.physical("MerchantsTable"), "m_acme", "apigateway test", stack.client("dynamodb"))
        routes = api_routes(stack.template)
        with ApiGatewayServer(routes, stack.invoker.invoke) as server:
            yield Dashboard(server.url, key, routes[0].stage)
    finally:
        stack.invoker.close()


def _bearer(dashboard: Dashboard) -> dict[str, str]:
    return {"Authorization": f"Bearer {dashboard.key}"}


def test_login_page_and_static_assets(dashboard: Dashboard) -> None:
    page = requests.get(f"{dashboard.url}/login", timeout=60)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'name="api_key"' in page.text and page.headers["X-Frame-Options"] == "DENY"
    css = requests.get(f"{dashboard.url}/static/dashboard.css", timeout=60)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert css.text == (DASHBOARD_DIR / "chalicelib" / "static" / "dashboard.css").read_text(encoding="utf-8")


def test_json_route_with_a_path_parameter(dashboard: Dashboard) -> None:
    response = requests.get(f"{dashboard.url}/api/v1/shipments/shp_10001", headers=_bearer(dashboard), timeout=60)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["shipment"]["shipment_id"] == "shp_10001" and body["timeline"]
    other = requests.get(f"{dashboard.url}/api/v1/shipments/shp_99999", headers=_bearer(dashboard), timeout=60)
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"


def test_errors_are_the_apps_json(dashboard: Dashboard) -> None:
    anonymous = requests.get(f"{dashboard.url}/api/v1/me", timeout=60)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    assert "WWW-Authenticate" in anonymous.headers
    unknown = requests.get(f"{dashboard.url}/api/v1/nothing-here", headers=_bearer(dashboard), timeout=60)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    missing_asset = requests.get(f"{dashboard.url}/static/nope.js", timeout=60)
    assert missing_asset.status_code == 404 and missing_asset.json()["error"]["code"] == "not_found"


def test_login_sets_a_session_cookie_that_signs_later_requests_in(dashboard: Dashboard) -> None:
    session = requests.Session()
    response = session.post(f"{dashboard.url}/login", data={"api_key": dashboard.key, "next": "/shipments"},
                            headers={"Origin": dashboard.url}, allow_redirects=False, timeout=60)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("dash_session=") and "HttpOnly" in cookie and "Secure" not in cookie  # plain http
    # The app builds links from requestContext.path, which carries the stage as on an execute-api URL;
    # the local server answers under that prefix too.
    assert response.headers["Location"] == f"/{dashboard.stage}/shipments"
    page = session.get(f"{dashboard.url}{response.headers['Location']}", timeout=60)
    assert page.status_code == 200 and "shp_10001" in page.text
    me = session.get(f"{dashboard.url}/api/v1/me", timeout=60)
    assert (me.status_code, me.json()["merchant_id"]) == (200, "m_acme")
    overview = session.get(f"{dashboard.url}/", timeout=60)  # ANY / (the Root event)
    assert overview.status_code == 200 and overview.headers["Content-Type"].startswith("text/html")


def test_csv_download_follows_its_link_header(dashboard: Dashboard) -> None:
    first = requests.get(f"{dashboard.url}/api/v1/shipments.csv?limit=2", headers=_bearer(dashboard), timeout=60)
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("text/csv")
    assert first.headers["Content-Disposition"] == 'attachment; filename="shipments.csv"'
    rows = list(csv.reader(io.StringIO(first.text)))
    assert len(rows) == 3 and "shipment_id" in rows[0]
    link = first.headers["Link"]
    assert link.startswith(f"</{dashboard.stage}/api/v1/shipments.csv?") and link.endswith('>; rel="next"')
    second = requests.get(dashboard.url + link[1:link.index(">")], headers=_bearer(dashboard), timeout=60)
    more = list(csv.reader(io.StringIO(second.text)))
    assert second.status_code == 200 and more[0] == rows[0] and len(more) >= 2
    ids = {r[rows[0].index("shipment_id")] for r in rows[1:] + more[1:]}
    assert len(ids) == len(rows) - 1 + len(more) - 1  # no row twice across the pages
