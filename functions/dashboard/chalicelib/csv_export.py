"""CSV export, one page per request.

Chalice (API Gateway + Lambda) cannot stream a response, and building a whole export in one
invocation would hit the 29 s / 6 MB limits on a large merchant. So ``/api/v1/shipments.csv`` returns
up to ``limit`` rows (default and maximum 1000) of the filtered list, newest first, and when more rows
exist a ``Link: <...&cursor=...>; rel="next"`` header (also ``X-Next-Cursor``) to fetch the next page.
A client loops until there is no ``Link``. Each page repeats the header row.

Formula injection (OWASP "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection):
spreadsheets run a cell that begins with ``=``, ``+``, ``-``, ``@``, tab, carriage return or line
feed. Such a cell gets a leading ``'`` (which spreadsheets read as "this is text"), and so does one
that only reaches such a character after leading whitespace or quote characters (``  =1+2``,
``"=1+2``, ``'@SUM(A1)``), which some importers strip. Every field is wrapped in double quotes and
embedded double quotes are doubled (RFC 4180 2.6, 2.7), so no separator inside a value (``,`` or the
``;`` that some locales split on) can start a new cell.
"""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = ("shipment_id", "status", "sub_status", "carrier", "tracking_number", "order_ref", "geo", "country",
           "city", "warehouse_id", "eta_date", "updated_at", "needs_attention", "attention_reason", "event_count",
           "late_count")
# OWASP's list, plus NUL (ASVS 1.2.10) and the full-width forms East Asian spreadsheets accept as
# formula starts.
_ACTIVE = frozenset("=+-@\t\r\n\0\uff1d\uff0b\uff0d\uff20")  # full width: = + - @
# What an importer may strip before it looks at the first character: whitespace and quotes.
_SKIPPED = " \t\r\n\v\f\u00a0\u3000'\"\u2018\u2019\u201c\u201d"  # and typographic quotes


def neutralised(text: str) -> str:
    """``text``, with a leading ``'`` when a spreadsheet could take it for a formula."""
    if not text:
        return text
    if text[0] in _ACTIVE:
        return "'" + text
    rest = text.lstrip(_SKIPPED)
    if rest != text and rest[:1] in _ACTIVE:
        return "'" + text
    return text


def cell(value: Any) -> str:
    """A cell as text; values a spreadsheet would run as a formula get a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralised(str(value))


def render(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL, doublequote=True)
    writer.writerow(COLUMNS)
    for row in rows:
        flat = {**row, "eta_date": (row.get("eta") or {}).get("date")}
        writer.writerow([cell(flat.get(c)) for c in COLUMNS])
    return out.getvalue()
