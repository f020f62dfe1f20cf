"""Server-rendered pages. Every value from events goes through ``h()``, which escapes it; the data the
scripts need travels in ``<script type="application/json">`` blocks (data, never executed) and the
scripts write it with ``textContent``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from chalicelib.html import Markup, frag, h, pill, short_time, status_label
from chalicelib.present import script_json
from chalicelib.validation import GEOS, STATUSES

NAV = (("overview", "/", "Overview"), ("shipments", "/shipments", "Shipments"),
       ("attention", "/attention", "Needs attention"), ("lanes", "/lanes", "Lanes"),
       ("warehouses", "/warehouses", "Warehouses"),
       ("dead-letters", "/dead-letters", "Dead letters"))


def layout(base: str, title: str, body: Any, *, page: str, merchant_id: str | None = None,
           since: str | None = None, data: Any = None) -> str:
    head = h("head", None,
             h("meta", {"charset": "utf-8"}),
             h("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
             h("title", None, f"{title} · Logistics"),
             h("link", {"rel": "icon", "href": f"{base}/static/favicon.svg", "type": "image/svg+xml"}),
             h("link", {"rel": "stylesheet", "href": f"{base}/static/dashboard.css"}),
             h("script", {"src": f"{base}/static/dashboard.js", "defer": True}))
    header = None
    if merchant_id is not None:
        header = h("header", {"class": "top"},
                   h("a", {"class": "brand", "href": f"{base}/"}, "◆ Logistics"),
                   h("nav", None, [h("a", {"href": f"{base}{href}", "class": "active" if key == page else None},
                                     label) for key, href, label in NAV]),
                   h("div", {"class": "top-right"},
                     h("span", {"class": "live", "id": "live", "aria-live": "polite"},
                       h("span", {"class": "dot"}), "Live · last updated ",
                       h("time", {"id": "last-updated"}, "—")),
                     h("span", {"class": "who"}, "Merchant ", h("strong", None, merchant_id)),
                     h("form", {"method": "post", "action": f"{base}/logout", "class": "inline"},
                       h("button", {"type": "submit", "class": "link"}, "Log out"))))
    blob = h("script", {"type": "application/json", "id": "page-data"}, Markup(script_json(data))) \
        if data is not None else None
    body_attrs = {"data-page": page, "data-base": base, "data-since": since}
    return "<!doctype html>" + h("html", {"lang": "en"}, head,
                                 h("body", body_attrs, header, h("main", None, body), blob))


# -- public pages ----------------------------------------------------------------------------------
def login_page(base: str, error: str | None = None, next_path: str = "/") -> str:
    body = h("section", {"class": "login card"},
             h("h1", None, "Merchant dashboard"),
             h("p", {"class": "muted"}, "Sign in with your merchant API key."),
             h("p", {"class": "error", "role": "alert"}, error) if error else None,
             h("form", {"method": "post", "action": f"{base}/login"},
               h("input", {"type": "hidden", "name": "next", "value": next_path}),
               h("label", {"for": "api_key"}, "API key"),
               h("input", {"type": "password", "name": "api_key", "id": "api_key", "autocomplete": "off",
                           "required": True, "autofocus": True}),
               h("button", {"type": "submit", "class": "primary"}, "Sign in")))
    return layout(base, "Sign in", body, page="login")


def tracking_page(base: str, info: dict[str, Any], expected: str | None = None) -> str:
    """The customer's page; ``expected`` is the predicted window in their words, shown instead of the ETA."""
    eta = info.get("eta") or {}
    window = f"{eta.get('window_start', '')}-{eta.get('window_end', '')}" if eta.get("window_start") else ""
    promised = " ".join(p for p in (eta.get("date"), window) if p) or "—"
    events = [h("li", None, h("time", None, short_time(e["at"])), " ", h("strong", None, status_label(e["status"])),
                h("span", {"class": "muted"}, " · " + ", ".join(p for p in (e.get("city"), e.get("country")) if p))
                if e.get("city") or e.get("country") else None)
              for e in info["events"]]
    body = h("section", {"class": "tracking card"},
             h("p", {"class": "muted"}, "Shipment tracking"),
             h("h1", None, pill(info.get("status"))),
             h("dl", {"class": "facts"},
               h("dt", None, "Carrier"), h("dd", None, info.get("carrier") or "—"),
               h("dt", None, "Tracking number"), h("dd", None, info.get("tracking_number") or "—"),
               h("dt", None, "Expected"), h("dd", {"id": "expected"}, expected or promised),
               h("dt", None, "Last update"), h("dd", None, short_time(info.get("updated_at")))),
             h("h2", None, "Journey"),
             h("ol", {"class": "journey"}, events) if events else h("p", {"class": "muted"}, "No events yet."))
    return layout(base, "Tracking", body, page="tracking")


def error_page(base: str, status: int, message: str, merchant_id: str | None = None) -> str:
    body = h("section", {"class": "card"}, h("h1", None, f"{status}"), h("p", None, message),
             h("p", None, h("a", {"href": f"{base}/"}, "Back to the overview")))
    return layout(base, str(status), body, page="error", merchant_id=merchant_id)


# -- dashboard pages -------------------------------------------------------------------------------
def shipment_link(base: str, shipment_id: str) -> Markup:
    return h("a", {"href": f"{base}/shipments/{quote(shipment_id, safe='')}"}, shipment_id)


SHIPMENT_COLUMNS = {"shipment_id": "Shipment", "status": "Status", "carrier": "Carrier", "tracking_number": "Tracking",
                    "order_ref": "Order", "where": "Where", "eta": "ETA", "updated_at": "Updated"}
COMPACT_COLUMNS = ("shipment_id", "status", "where", "carrier", "eta", "updated_at")


def shipment_cells(base: str, s: dict[str, Any]) -> dict[str, Markup]:
    where = ", ".join(p for p in (s.get("city"), s.get("country")) if p)
    attention = h("span", {"class": "flag", "title": s.get("attention_reason") or ""}, "!") \
        if s.get("needs_attention") else None
    return {
        "shipment_id": h("td", {"data-col": "shipment_id"}, shipment_link(base, s["shipment_id"]), attention),
        "status": h("td", {"data-col": "status"}, pill(s.get("status")),
                    h("span", {"class": "sub"}, s.get("sub_status")) if s.get("sub_status") else None),
        "carrier": h("td", {"data-col": "carrier"}, s.get("carrier")),
        "tracking_number": h("td", {"data-col": "tracking_number"}, s.get("tracking_number")),
        "order_ref": h("td", {"data-col": "order_ref"}, s.get("order_ref")),
        "where": h("td", {"data-col": "where"}, where),
        "eta": h("td", {"data-col": "eta", "class": "nowrap"}, (s.get("eta") or {}).get("date")),
        "updated_at": h("td", {"data-col": "updated_at", "class": "nowrap"}, short_time(s.get("updated_at"))),
    }


def shipments_table(base: str, rows: list[dict[str, Any]], table_id: str = "shipments",
                    columns: tuple[str, ...] = tuple(SHIPMENT_COLUMNS)) -> Markup:
    """A shipments table; the live-update script builds new rows with the same ``data-columns``."""
    body = []
    for r in rows:
        cells = shipment_cells(base, r)
        body.append(h("tr", {"data-shipment-id": r["shipment_id"]}, [cells[c] for c in columns]))
    return h("table", {"class": "grid", "id": table_id, "data-columns": ",".join(columns)},
             h("thead", None, h("tr", None, [h("th", None, SHIPMENT_COLUMNS[c]) for c in columns])),
             h("tbody", None, body))


def tile(label: str, value: Any, tile_id: str, note: str | None = None) -> Markup:
    return h("div", {"class": "tile"}, h("div", {"class": "tile-label"}, label),
             h("div", {"class": "tile-value", "id": tile_id}, "—" if value is None else value),
             h("div", {"class": "tile-note", "id": f"{tile_id}-note"}, note) if note is not None else None)


def kpi_tiles(k: dict[str, Any], extra: Markup | None = None) -> Markup:
    counts = k["counts"]["by_status"]
    terminal = ("DELIVERED", "RETURNED", "CANCELLED", "LOST")
    active = sum(n for s, n in counts.items() if s not in terminal)
    rate = k["on_time"]["rate"]
    transit = k["transit"]["avg_hours"]
    return h("section", {"class": "tiles", "id": "kpis"},
             tile("Shipments", k["counts"]["total"], "kpi-total", "≥ (capped)" if k["counts"]["capped"] else None),
             tile("Active", active, "kpi-active"),
             tile("Delivered", counts.get("DELIVERED", 0), "kpi-delivered"),
             tile("Exceptions", k["exceptions"]["current"], "kpi-exceptions"),
             tile("Needs attention", k["needs_attention"]["count"], "kpi-attention"),
             tile("On time", f"{rate * 100:.0f}%" if rate is not None else None, "kpi-ontime",
                  f"of {k['on_time']['delivered_with_eta']} delivered"),
             tile("Avg transit", f"{transit:.1f} h" if transit is not None else None, "kpi-transit",
                  "picked up → delivered"),
             tile("Updates / min", k["events_per_minute"]["rate"], "kpi-rate", "last 15 min"), extra)


def chart(chart_id: str, title: str, note: str) -> Markup:
    return h("figure", {"class": "chart card"}, h("figcaption", None, title),
             h("canvas", {"id": chart_id, "width": "420", "height": "220", "role": "img", "aria-label": title}),
             h("p", {"class": "muted small"}, note))


def overview_page(base: str, merchant_id: str, k: dict[str, Any], recent: list[dict[str, Any]],
                  attention: list[dict[str, Any]], since: str | None, extra_tile: Markup | None = None) -> str:
    sample = k["sample"]
    body = frag(
        h("div", {"class": "page-head"}, h("h1", None, "Overview"),
          h("p", {"class": "muted small", "id": "sample-note"},
            f"Counts: {k['counts']['method']}. Rates, transit and delays: {sample['method']} "
            f"({sample['size']} shipments).")),
        kpi_tiles(k, extra_tile),
        h("section", {"class": "charts"},
          chart("chart-status", "Status distribution", "Current shipments per status"),
          chart("chart-throughput", "Throughput", "Updates per time bucket across the sample"),
          chart("chart-delays", "Delays by region", "Late (past ETA) and exceptions, per region")),
        h("section", {"class": "split wide-left"},
          h("div", {"class": "card"}, h("h2", None, "Latest updates"),
            shipments_table(base, recent, "recent", COMPACT_COLUMNS)),
          h("div", {"class": "card"}, h("h2", None, "Needs attention"),
            attention_list(base, attention) if attention else h("p", {"class": "muted"}, "Nothing needs attention."),
            h("p", None, h("a", {"href": f"{base}/attention"}, "Open the queue →")))),
    )
    return layout(base, "Overview", body, page="overview", merchant_id=merchant_id, since=since, data={"kpis": k})


def attention_list(base: str, rows: list[dict[str, Any]]) -> Markup:
    return h("ul", {"class": "attention", "id": "attention-list"},
             [h("li", {"data-shipment-id": r["shipment_id"]}, shipment_link(base, r["shipment_id"]), " ",
                pill(r.get("status")), " ", h("span", {"class": "reason"}, r.get("attention_reason") or ""),
                h("span", {"class": "muted small"}, " · " + short_time(r.get("updated_at"))))
              for r in rows])


def filter_form(base: str, params: dict[str, str]) -> Markup:
    def select(name: str, options: tuple[str, ...], label: str) -> Markup:
        current = params.get(name)
        return h("label", None, label, h("select", {"name": name},
                                          h("option", {"value": ""}, "any"),
                                          [h("option", {"value": o, "selected": o == current}, status_label(o)
                                             if name == "status" else o) for o in options]))

    def text_input(name: str, label: str, placeholder: str = "") -> Markup:
        return h("label", None, label, h("input", {"type": "text", "name": name, "value": params.get(name, ""),
                                                     "placeholder": placeholder}))

    return h("form", {"class": "filters card", "method": "get", "action": f"{base}/shipments"},
             select("status", STATUSES, "Status"), select("region", GEOS, "Region"),
             text_input("country", "Country", "DE"), text_input("carrier", "Carrier"),
             text_input("warehouse", "Warehouse"), text_input("updated_since", "Updated since", "2026-11-20"),
             h("label", {"class": "check"}, h("input", {"type": "checkbox", "name": "needs_attention", "value": "true",
                                                      "checked": params.get("needs_attention") == "true"}),
               "Needs attention"),
             h("button", {"type": "submit", "class": "primary"}, "Filter"),
             h("a", {"href": f"{base}/shipments", "class": "button"}, "Reset"))


def shipments_page(base: str, merchant_id: str, params: dict[str, str], rows: list[dict[str, Any]],
                   next_cursor: str | None, searched: str | None, since: str | None, note: str | None) -> str:
    filters = {k: v for k, v in params.items() if k not in ("cursor", "q")}
    more = h("a", {"class": "button", "id": "next-page",
                   "href": f"{base}/shipments?{urlencode({**filters, 'cursor': next_cursor})}"}, "Next page →") \
        if next_cursor else None
    csv_href = f"{base}/api/v1/shipments.csv?{urlencode(filters)}" if filters else f"{base}/api/v1/shipments.csv"
    body = frag(
        h("div", {"class": "page-head"}, h("h1", None, "Shipments"),
          h("form", {"class": "search", "method": "get", "action": f"{base}/shipments", "role": "search"},
            h("input", {"type": "search", "name": "q", "value": searched or "", "id": "search",
                        "placeholder": "Shipment id, tracking number or order ref"}),
            h("button", {"type": "submit"}, "Search"))),
        filter_form(base, params),
        h("p", {"class": "muted small"}, f"Results for “{searched}”" if searched else note),
        h("div", {"class": "card"}, shipments_table(base, rows),
          h("p", {"class": "muted", "id": "empty"}, "No shipments match.") if not rows else None,
          h("div", {"class": "pager"}, more,
            h("a", {"class": "button", "href": csv_href, "id": "csv"}, "Export CSV (1,000 rows per page)"))),
    )
    return layout(base, "Shipments", body, page="shipments", merchant_id=merchant_id, since=since,
                  data={"live_insert": not filters and not searched and "cursor" not in params})


def route_svg(points: list[tuple[float, float, str]], width: int = 640, height: int = 280) -> Markup:
    """The route through the timeline's locations as an SVG polyline (equirectangular, fitted)."""
    if len(points) < 2:
        return h("p", {"class": "muted"}, "Not enough located events to draw a route yet.")
    pad = 36
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    span_lon, span_lat = max(max(lons) - min(lons), 1e-3), max(max(lats) - min(lats), 1e-3)
    scale = min((width - 2 * pad) / span_lon, (height - 2 * pad) / span_lat)
    off_x = (width - span_lon * scale) / 2
    off_y = (height - span_lat * scale) / 2

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return round(off_x + (lon - min(lons)) * scale, 1), round(height - off_y - (lat - min(lats)) * scale, 1)

    coords = [xy(lat, lon) for lat, lon, _ in points]
    marks = []
    for n, ((x, y), (_, _, label)) in enumerate(zip(coords, points, strict=True)):
        last = n == len(coords) - 1
        marks.append(h("circle", {"cx": x, "cy": y, "r": 6 if last else 4,
                                  "class": "stop last" if last else ("stop first" if n == 0 else "stop")}))
        marks.append(h("text", {"x": x + 8, "y": y - 8, "class": "stop-label"}, label))
    return h("svg", {"class": "route", "viewBox": f"0 0 {width} {height}", "role": "img",
                     "aria-label": "Route across locations", "xmlns": "http://www.w3.org/2000/svg"},
             h("rect", {"x": 0, "y": 0, "width": width, "height": height, "class": "route-bg"}),
             h("polyline", {"points": " ".join(f"{x},{y}" for x, y in coords), "class": "route-line"}),
             marks)


def route_points(timeline: list[dict[str, Any]]) -> list[tuple[float, float, str]]:
    points: list[tuple[float, float, str]] = []
    for entry in timeline:
        loc = entry.get("location") or {}
        lat, lon = loc.get("lat"), loc.get("lon")
        # Only events that moved the shipment: late, voided and ignored ones are in the timeline, not the route.
        if entry.get("disposition") not in ("applied", "correction") or not isinstance(lat, (int, float)) or \
                not isinstance(lon, (int, float)):
            continue
        label = loc.get("city") or loc.get("facility_id") or ""
        if points and points[-1][:2] == (lat, lon):
            continue
        points.append((float(lat), float(lon), str(label)))
    return points


TIMELINE_COLUMNS = ("When (UTC)", "Source", "Event", "Status", "Where", "Disposition")


def timeline_row(e: dict[str, Any]) -> Markup:
    loc = e.get("location") or {}
    where = ", ".join(str(p) for p in (loc.get("city"), loc.get("country")) if p)
    if e.get("warehouse_id"):
        where = f"{where} · {e['warehouse_id']}" if where else e["warehouse_id"]
    disposition = e.get("disposition") or ""
    return h("tr", {"class": f"disp-{disposition}" if disposition.isalpha() else None},
             h("td", None, short_time(e.get("at"))),
             h("td", None, h("span", {"class": f"kind kind-{'w' if e.get('kind') == 'warehouse' else 'c'}"},
                             e.get("kind"))),
             h("td", None, e.get("event_type"), h("span", {"class": "sub"}, e.get("sub_status"))
               if e.get("sub_status") else None),
             h("td", None, pill(e.get("status")) if e.get("status") else None),
             h("td", None, where),
             h("td", None, h("span", {"class": "badge"}, disposition),
               h("span", {"class": "sub"}, f"corrects {e['correction_of']}") if e.get("correction_of") else None))


def timeline_table(entries: list[dict[str, Any]]) -> Markup:
    return h("table", {"class": "grid", "id": "timeline"},
             h("thead", None, h("tr", None, [h("th", None, c) for c in TIMELINE_COLUMNS])),
             h("tbody", None, [timeline_row(e) for e in entries]))


def _note_detail(n: dict[str, Any]) -> str:
    return str(n.get("error") or n.get("detail") or n.get("target") or n.get("message_id") or "")


def detail_page(base: str, merchant_id: str, d: dict[str, Any], timeline: list[dict[str, Any]], truncated: bool,
                notifications: list[dict[str, Any]], since: str | None,
                prediction_facts: list[tuple[str, Any]] | None = None, trending_late: bool = False) -> str:
    loc = d.get("location") or {}
    eta = d.get("eta") or {}
    exception = d.get("exception") or {}
    facts = (("Carrier", d.get("carrier")), ("Tracking number", d.get("tracking_number")),
             ("Order", d.get("order_ref")), ("Where", ", ".join(str(p) for p in (loc.get("city"), loc.get("country"))
                                                                 if p)),
             ("ETA", " ".join(str(p) for p in (eta.get("date"), eta.get("window_start") and
                                               f"{eta.get('window_start')}-{eta.get('window_end')}") if p)),
             ("Warehouse", d.get("warehouse_id")), ("Updated", short_time(d.get("updated_at"))),
             ("Events", f"{d.get('event_count', 0)} ({d.get('late_count', 0)} late)"), *(prediction_facts or ()))
    notes = h("table", {"class": "grid"},
              h("thead", None, h("tr", None, [h("th", None, c) for c in ("Created", "Channel", "Status", "Outcome",
                                                                         "Detail")])),
              h("tbody", None, [h("tr", None, h("td", None, short_time(n.get("created_at"))),
                                  h("td", None, n.get("channel")), h("td", None, pill(n.get("status"))),
                                  h("td", None, h("span", {"class": "badge"}, n.get("outcome"))),
                                  h("td", None, _note_detail(n)))
                                for n in notifications])) \
        if notifications else h("p", {"class": "muted"}, "No notifications yet.")
    body = frag(
        h("div", {"class": "page-head stacked"},
          h("h1", None, "Shipment ", h("span", {"id": "shipment-id"}, d["shipment_id"]), " ",
            h("span", {"id": "detail-status"}, pill(d.get("status"))),
            h("span", {"class": "badge late"}, "trending late") if trending_late else None,
            h("span", {"id": "detail-sub", "class": "muted small"}, d.get("sub_status") or "")),
          h("p", {"class": "muted small"}, "Customer tracking page: ",
            h("a", {"href": d["tracking_url"], "rel": "noopener"}, d["tracking_url"])
            if d.get("tracking_url") else "none")),
        h("div", {"class": "callout"}, h("strong", None, "Exception: "), exception.get("reason"),
          " · ", exception.get("responsible_party"), " · action: ", exception.get("action_required"))
        if exception else None,
        h("section", {"class": "split"},
          h("div", {"class": "card"}, h("h2", None, "Facts"),
            h("dl", {"class": "facts", "id": "facts"}, [frag(h("dt", None, k), h("dd", None, v or "—"))
                                                        for k, v in facts])),
          h("div", {"class": "card"}, h("h2", None, "Route"), h("div", {"id": "route"},
                                                                route_svg(route_points(timeline))))),
        h("div", {"class": "card"}, h("h2", None, "Timeline ",
                                      h("span", {"class": "muted small"},
                                        "warehouse and carrier events together; late events kept, marked")),
          timeline_table(timeline),
          h("p", {"class": "muted small"}, "Timeline truncated at 2,000 events.") if truncated else None),
        h("div", {"class": "card"}, h("h2", None, "Notifications"), notes),
    )
    return layout(base, f"Shipment {d['shipment_id']}", body, page="detail", merchant_id=merchant_id, since=since,
                  data={"shipment_id": d["shipment_id"]})


def attention_page(base: str, merchant_id: str, attention: list[dict[str, Any]], stale: list[dict[str, Any]],
                   stale_hours: int, since: str | None) -> str:
    body = frag(
        h("div", {"class": "page-head"}, h("h1", None, "Needs attention")),
        h("div", {"class": "card"}, h("h2", None, "Exceptions, failed attempts, lost"),
          shipments_table(base, attention, "attention") if attention else
          h("p", {"class": "muted"}, "Nothing needs attention.")),
        h("div", {"class": "card"},
          h("h2", None, f"No movement for {stale_hours} hours"),
          h("form", {"method": "get", "action": f"{base}/attention", "class": "inline"},
            h("label", None, "Hours ", h("input", {"type": "number", "name": "hours", "min": 1, "max": 2160,
                                                   "value": stale_hours})),
            h("button", {"type": "submit"}, "Apply")),
          shipments_table(base, stale, "stale") if stale else h("p", {"class": "muted"}, "Everything is moving.")),
    )
    return layout(base, "Needs attention", body, page="attention", merchant_id=merchant_id, since=since)


def _on_hand_note(info: dict[str, Any]) -> str:
    zone = f" · zone {info['zone']}" if info.get("zone") else ""
    return f" since {short_time(info.get('since'))}{zone}"


def _more_stock(base: str, w: dict[str, Any]) -> Markup | None:
    """Under a stock shown in part: how much of it, and where the rest is (the stock pages of the API)."""
    if w["stock_complete"]:
        return None
    shown = f"The first {len(w['stock'])} of {w['skus']} SKUs; every SKU, page by page: "
    return h("p", {"class": "muted small"}, shown,
             h("a", {"href": f"{base}/api/v1/warehouses/{quote(w['warehouse_id'], safe='')}"}, "the warehouse API"))


def warehouses_page(base: str, merchant_id: str, warehouses: list[dict[str, Any]], next_cursor: str | None) -> str:
    cards = []
    for w in warehouses:
        loc = w.get("location") or {}
        stock = h("table", {"class": "grid compact"},
                  h("thead", None, h("tr", None, h("th", None, "SKU"), h("th", None, "Qty"))),
                  h("tbody", None, [h("tr", None, h("td", None, sku), h("td", {"class": "num"}, qty))
                                    for sku, qty in w["stock"].items()]))
        on_hand = h("ul", {"class": "plain"},
                    [h("li", None, shipment_link(base, sid),
                       h("span", {"class": "muted small"}, _on_hand_note(info)))
                     for sid, info in w["on_hand"].items()]) if w["on_hand"] else h("p", {"class": "muted"}, "None")
        cards.append(h("div", {"class": "card warehouse", "data-warehouse-id": w["warehouse_id"]},
                       h("h2", None, w["warehouse_id"], h("span", {"class": "muted small"},
                                                        " " + ", ".join(str(p) for p in (loc.get("city"),
                                                                                         loc.get("country")) if p))),
                       h("p", {"class": "muted small"}, f"{w['skus']} SKUs · {w['units']} units · "
                                                        f"{w['shipments_on_hand']} shipments on hand · updated "
                                                        f"{short_time(w.get('updated_at'))}"),
                       h("div", {"class": "split"}, h("div", None, h("h3", None, "Stock"), stock, _more_stock(base, w)),
                         h("div", None, h("h3", None, "Shipments on hand"), on_hand))))
    more = h("a", {"class": "button", "href": f"{base}/warehouses?{urlencode({'cursor': next_cursor})}"},
             "Next page →") if next_cursor else None
    body = frag(h("div", {"class": "page-head"}, h("h1", None, "Warehouses")),
                cards or h("p", {"class": "muted"}, "No warehouses yet."), more)
    return layout(base, "Warehouses", body, page="warehouses", merchant_id=merchant_id)


def dead_letters_page(base: str, merchant_id: str, letters: list[dict[str, Any]], next_cursor: str | None) -> str:
    rows = [h("tr", {"data-dlq-key": d["dlq_key"]},
              h("td", {"class": "nowrap"}, short_time(d.get("dead_lettered_at"))),
              h("td", None, h("code", None, d.get("source"))),
              h("td", None, d.get("reason")),
              h("td", None, h("details", None, h("summary", None, f"{d['value_bytes']} bytes"),
                              h("pre", None, d.get("value_preview") or "(no value)"))),
              h("td", {"data-col": "state"}, h("span", {"class": "badge"}, d.get("state"))),
              h("td", None, h("button", {"type": "button", "class": "replay", "data-dlq-key": d["dlq_key"],
                                         "disabled": d.get("state") == "replayed" or not d["value_bytes"]},
                              "Replay")))
            for d in letters]
    table = h("table", {"class": "grid", "id": "dead-letters"},
              h("thead", None, h("tr", None, [h("th", None, c) for c in ("Dead-lettered", "Source", "Reason",
                                                                         "Original bytes", "State", "")])),
              h("tbody", None, rows))
    more = h("a", {"class": "button", "href": f"{base}/dead-letters?{urlencode({'cursor': next_cursor})}"},
             "Older →") if next_cursor else None
    body = frag(h("div", {"class": "page-head"}, h("h1", None, "Dead letters"),
                  h("p", {"class": "muted"}, "Events that could not be processed, newest first. Replay re-produces "
                                             "the original bytes to their Kafka topic.")),
                h("div", {"class": "card"}, table if letters else h("p", {"class": "muted"}, "No dead letters."),
                  more))
    return layout(base, "Dead letters", body, page="dead-letters", merchant_id=merchant_id)

