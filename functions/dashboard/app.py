"""Merchant dashboard: JSON API (/api/v1), server-rendered pages, public tracking page.

Routes only: every route calls ``chalicelib`` (api / pages, which share ``usecases``), and one
middleware (``guard``) does authentication, CSRF checks, error rendering and security headers for all
of them. The template's handler is ``app.app``; ``DashboardApp`` maps API Gateway's ``/{proxy+}``
resource to these routes.
See README.md in this folder for the route list, the auth scheme and the CSV paging.
"""

from __future__ import annotations

import os
from typing import Any

from chalice import Chalice
from chalice.app import Response
from chalicelib import api, guard, lanes_api, pages
from chalicelib.auth import route_authorizer
from chalicelib.http import (
    base_path,
    drop_body_type,
    json_response,
    path_param,
    query,
    resolve_proxy_event,
    secure,
)
from chalicelib.settings import auth_mode


class DashboardApp(Chalice):
    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        drop_body_type(event)
        if resolve_proxy_event(event, list(self.routes)) is None:
            body = {"error": {"code": "not_found", "message": "no such route"}}
            return secure(json_response(body, 404)).to_dict()
        return super().__call__(event, context)


app = DashboardApp(app_name="logistics-dashboard")
app.api.binary_types = []  # everything here is text; keep API Gateway from base64-encoding CSV
# jwt mode: API Gateway's Cognito authorizer on protected routes (chalice deploy); api_key mode: None.
AUTH = route_authorizer(auth_mode(), os.environ.get("COGNITO_USER_POOL_ARN", ""))
FORM = ["application/x-www-form-urlencoded"]


@app.middleware("http")
def gate(request: Any, get_response: Any) -> Response:
    return guard.guard(request, get_response)


def _req() -> Any:
    return app.current_request


def _me() -> str:
    return guard.identity(app.current_request).merchant_id


def _q() -> dict[str, str]:
    return query(app.current_request)


# -- public ----------------------------------------------------------------------------------------
@app.route("/static/{name}")
def static_file(name: str) -> Response:
    return pages.static(path_param(name))


@app.route("/login")
def login_form() -> Response:
    return pages.login_form(_req(), _q())


@app.route("/login", methods=["POST"], content_types=FORM)
def login() -> Response:
    return pages.login(_req())


@app.route("/logout", methods=["POST"], content_types=FORM)
def logout() -> Response:
    return pages.logout(_req())


@app.route("/track/{token}")
def tracking(token: str) -> Response:
    return pages.tracking(_req(), path_param(token))


# -- pages -----------------------------------------------------------------------------------------
@app.route("/", authorizer=AUTH)
def overview() -> Response:
    return pages.overview(_req(), _me(), _q())


@app.route("/shipments", authorizer=AUTH)
def shipments_page() -> Response:
    return pages.shipments(_req(), _me(), _q())


@app.route("/shipments/{shipment_id}", authorizer=AUTH)
def shipment_page(shipment_id: str) -> Response:
    return pages.shipment(_req(), _me(), path_param(shipment_id))


@app.route("/attention", authorizer=AUTH)
def attention_page() -> Response:
    return pages.attention(_req(), _me(), _q())


@app.route("/lanes", authorizer=AUTH)
def lanes_page() -> Response:
    return pages.lanes(_req(), _me(), _q())


@app.route("/at-risk", authorizer=AUTH)
def at_risk_page() -> Response:
    return pages.at_risk(_req(), _me(), _q())


@app.route("/warehouses", authorizer=AUTH)
def warehouses_page() -> Response:
    return pages.warehouses(_req(), _me(), _q())


@app.route("/dead-letters", authorizer=AUTH)
def dead_letters_page() -> Response:
    return pages.dead_letters(_req(), _me(), _q())


# -- JSON API --------------------------------------------------------------------------------------
@app.route("/api/v1/me", authorizer=AUTH)
def me() -> Response:
    return api.me(guard.identity(app.current_request))


@app.route("/api/v1/shipments", authorizer=AUTH)
def list_shipments() -> Response:
    return api.list_shipments(_me(), _q())


@app.route("/api/v1/shipments.csv", authorizer=AUTH)
def shipments_csv() -> Response:
    return api.shipments_csv(_me(), _q(), base_path(_req()))


@app.route("/api/v1/search", authorizer=AUTH)
def search() -> Response:
    return api.search(_me(), _q())


@app.route("/api/v1/shipments/{shipment_id}", authorizer=AUTH)
def shipment_detail(shipment_id: str) -> Response:
    return api.shipment_detail(_me(), path_param(shipment_id))


@app.route("/api/v1/shipments/{shipment_id}/prediction", authorizer=AUTH)
def shipment_prediction(shipment_id: str) -> Response:
    return lanes_api.prediction(_me(), path_param(shipment_id))


@app.route("/api/v1/lanes", authorizer=AUTH)
def lanes() -> Response:
    return lanes_api.lanes(_me())


@app.route("/api/v1/lanes.csv", authorizer=AUTH)
def lanes_csv() -> Response:
    return lanes_api.lanes_csv(_me())


@app.route("/api/v1/shipments/{shipment_id}/timeline", authorizer=AUTH)
def shipment_timeline(shipment_id: str) -> Response:
    return api.shipment_timeline(_me(), path_param(shipment_id))


@app.route("/api/v1/shipments/{shipment_id}/notifications", authorizer=AUTH)
def shipment_notifications(shipment_id: str) -> Response:
    return api.shipment_notifications(_me(), path_param(shipment_id), _q())


@app.route("/api/v1/attention", authorizer=AUTH)
def attention() -> Response:
    return api.attention(_me(), _q())


@app.route("/api/v1/kpis", authorizer=AUTH)
def kpis() -> Response:
    return api.kpi_report(_me(), _q())


@app.route("/api/v1/changes", authorizer=AUTH)
def changes() -> Response:
    return api.changes(_me(), _q())


@app.route("/api/v1/warehouses", authorizer=AUTH)
def warehouses() -> Response:
    return api.list_warehouses(_me(), _q())


@app.route("/api/v1/warehouses/{warehouse_id}", authorizer=AUTH)
def warehouse_detail(warehouse_id: str) -> Response:
    return api.warehouse_detail(_me(), path_param(warehouse_id), _q())


@app.route("/api/v1/dead-letters", authorizer=AUTH)
def dead_letters() -> Response:
    return api.list_dead_letters(_me(), _q())


@app.route("/api/v1/dead-letters/{dlq_key}", authorizer=AUTH)
def dead_letter(dlq_key: str) -> Response:
    return api.dead_letter_detail(_me(), path_param(dlq_key))


@app.route("/api/v1/dead-letters/{dlq_key}/replay", methods=["POST"], authorizer=AUTH,
           content_types=["application/json", *FORM])
def replay_dead_letter(dlq_key: str) -> Response:
    return api.replay_dead_letter(_me(), path_param(dlq_key))
