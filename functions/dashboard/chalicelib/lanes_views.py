"""The lanes page, the at-risk queue, and predicted delivery dates as the shipment and tracking pages word them.
Every value goes through ``h()`` (escaped), as in ``views``."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.html import Markup, frag, h, pill, short_time
from chalicelib.sparkline import sparkline
from chalicelib.views import layout, shipment_link
from logistics.domain.lanes import LaneKey, LaneStats
from logistics.domain.prediction import Prediction


def _rate(stats: LaneStats) -> str:
    rate = stats.on_time_rate
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


def lane_table(merchant_id: str, lanes: list[tuple[str, LaneStats]]) -> Markup:
    """One row per lane: carrier, service, route, volume, on-time rate, transit p50/p90, per-day sparkline."""
    rows = []
    for lane_id, stats in lanes:
        key = LaneKey.parse(merchant_id, lane_id)
        rows.append(h("tr", {"data-lane": lane_id},
                      h("td", None, key.carrier), h("td", None, key.service),
                      h("td", None, f"{key.origin} → {key.destination}"),
                      h("td", {"class": "num"}, stats.delivered), h("td", {"class": "num"}, _rate(stats)),
                      h("td", {"class": "num"}, _hours(stats.transit_quantile(0.5))),
                      h("td", {"class": "num"}, _hours(stats.transit_quantile(0.9))),
                      h("td", None, sparkline(stats.days, f"Lane {lane_id}"))))
    heads = ("Carrier", "Service", "Origin → destination", "Delivered", "On time", "Transit p50", "Transit p90",
             "Deliveries per day")
    return h("table", {"class": "grid", "id": "lanes"},
             h("thead", None, h("tr", None, [h("th", None, c) for c in heads])), h("tbody", None, rows))


def rate_table(table_id: str, heading: str, rows: list[tuple[str, LaneStats]]) -> Markup:
    """On-time rate per carrier or per destination (their rollup aggregates)."""
    if not rows:
        return h("p", {"class": "muted", "id": table_id}, "No deliveries yet.")
    return h("table", {"class": "grid compact", "id": table_id},
             h("thead", None, h("tr", None, h("th", None, heading), h("th", None, "Delivered"),
                                h("th", None, "On time"))),
             h("tbody", None, [h("tr", None, h("td", None, name), h("td", {"class": "num"}, s.delivered),
                                 h("td", {"class": "num"}, _rate(s))) for name, s in rows]))


def lanes_page(base: str, merchant_id: str, lanes: list[tuple[str, LaneStats]],
               carriers: list[tuple[str, LaneStats]], destinations: list[tuple[str, LaneStats]]) -> str:
    body = frag(
        h("div", {"class": "page-head"}, h("h1", None, "Lanes"),
          h("a", {"class": "button", "href": f"{base}/api/v1/lanes.csv", "id": "lanes-csv"}, "Export CSV")),
        h("p", {"class": "muted small"}, "Learned from delivered shipments as the stream's windows close. On time: "
                                         "delivered on or before the ETA date. Transit: picked up → delivered."),
        h("div", {"class": "card"}, lane_table(merchant_id, lanes) if lanes else
          h("p", {"class": "muted", "id": "no-lanes"}, "No lane has a delivery yet.")),
        h("section", {"class": "split"},
          h("div", {"class": "card"}, h("h2", None, "On time by carrier"),
            rate_table("by-carrier", "Carrier", carriers)),
          h("div", {"class": "card"}, h("h2", None, "On time by destination"),
            rate_table("by-destination", "Destination", destinations))),
    )
    return layout(base, "Lanes", body, page="lanes", merchant_id=merchant_id)


def at_risk_tile(base: str, count: int, open_shipments: int) -> Markup:
    return h("a", {"class": "tile link-tile warn" if count else "tile link-tile", "href": f"{base}/at-risk"},
             h("div", {"class": "tile-label"}, "At risk"),
             h("div", {"class": "tile-value", "id": "kpi-at-risk"}, count),
             h("div", {"class": "tile-note"}, f"of {open_shipments} open, trending late"))


def at_risk_page(base: str, merchant_id: str, rows: list[dict[str, Any]], open_shipments: int, sample: int) -> str:
    table = h("table", {"class": "grid", "id": "at-risk"},
              h("thead", None, h("tr", None, [h("th", None, c) for c in (
                  "Shipment", "Status", "Carrier", "Promised", "Predicted", "Window", "Basis", "Updated")])),
              h("tbody", None, [
                  h("tr", {"data-shipment-id": r["shipment"]["shipment_id"]},
                    h("td", None, shipment_link(base, r["shipment"]["shipment_id"])),
                    h("td", None, pill(r["shipment"].get("status"))), h("td", None, r["shipment"].get("carrier")),
                    h("td", {"class": "nowrap"}, r["prediction"].carrier_eta),
                    h("td", {"class": "nowrap late"}, r["prediction"].likely.isoformat()),
                    h("td", {"class": "nowrap"}, window_text(r["prediction"])),
                    h("td", None, f"{r['prediction'].basis} ({r['prediction'].samples})"),
                    h("td", {"class": "nowrap"}, short_time(r["shipment"].get("updated_at"))))
                  for r in rows]))
    body = frag(
        h("div", {"class": "page-head"}, h("h1", None, "At risk")),
        h("p", {"class": "muted small", "id": "at-risk-note"},
          f"Open shipments whose most likely delivery date is past the promised date, among the {sample} most "
          f"recently active ({open_shipments} of them open)."),
        h("div", {"class": "card"}, table if rows else h("p", {"class": "muted"}, "Nothing is trending late.")),
    )
    return layout(base, "At risk", body, page="at-risk", merchant_id=merchant_id)


def window_text(made: Prediction) -> str:
    return f"{made.earliest.isoformat()} to {made.latest.isoformat()}"


def original_text(original: dict[str, Any]) -> str:
    """The original prediction in one line: "2026-12-03 (2026-12-02 to 2026-12-05), made 2026-11-28"."""
    made_at = str(original.get("made_at") or "")[:10]
    return (f"{original.get('likely')} ({original.get('earliest')} to {original.get('latest')})"
            + (f", made {made_at}" if made_at else ""))


def prediction_facts(made: Prediction | None, original: dict[str, Any] | None = None) -> list[tuple[str, Any]]:
    """The shipment page's prediction rows: the current prediction (most likely date, p10-p90 window, basis,
    carrier ETA beside it) and the original one, the first made for the shipment."""
    first = [("Original prediction", h("span", {"id": "original-prediction"}, original_text(original)))] \
        if original else []
    if made is None:
        return [("Predicted", "no prediction (not under way, or too few deliveries learned)"), *first]
    badge = h("span", {"class": "badge late", "id": "trending-late"}, "trending late") if made.trending_late else None
    return [("Predicted", frag(h("strong", {"id": "predicted-likely"}, made.likely.isoformat()), " ", badge)),
            ("Window p10-p90", window_text(made)),
            *first,
            ("Carrier ETA", made.carrier_eta or "—"),
            ("Based on", f"{made.basis} statistics, {made.samples} deliveries")]


def _day(d: date, with_month: bool) -> str:
    text = f"{d:%a} {d.day}"
    return f"{text} {d:%b}" if with_month else text


def customer_window(earliest: date, latest: date) -> str:
    """Customer wording of a window: "Expected between Tue 3 and Thu 5 Dec", "Expected on Tue 3 Dec"."""
    if earliest >= latest:
        return f"Expected on {_day(earliest, True)}"
    same_month = (earliest.year, earliest.month) == (latest.year, latest.month)
    return f"Expected between {_day(earliest, not same_month)} and {_day(latest, True)}"
