"""CSV export, one page per request.

Chalice (API Gateway + Lambda) cannot stream a response, and building a whole export in one
invocation would hit the 29 s / 6 MB limits on a large merchant. So ``/api/v1/shipments.csv`` returns
up to ``limit`` rows (default and maximum 1000) of the filtered list, newest first, and when more rows
exist a ``Link: <...&cursor=...>; rel="next"`` header (also ``X-Next-Cursor``) to fetch the next page.
A client loops until there is no ``Link``. Each page repeats the header row.
"""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = ("shipment_id", "status", "sub_status", "carrier", "tracking_number", "order_ref", "geo", "country",
           "city", "warehouse_id", "eta_date", "updated_at", "needs_attention", "attention_reason", "event_count",
           "late_count")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A cell as text; values a spreadsheet would run as a formula get a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def render(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        flat = {**row, "eta_date": (row.get("eta") or {}).get("date")}
        writer.writerow([cell(flat.get(c)) for c in COLUMNS])
    return out.getvalue()
