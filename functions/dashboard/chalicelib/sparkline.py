"""A per-day series as a small inline SVG (server-rendered, no script): a line of the daily volume, with the
days that had no delivery drawn as zero."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from chalicelib.html import Markup, h

WIDTH, HEIGHT, PAD = 120, 28, 2
MAX_DAYS = 60  # a series spans at most this many days (the lanes keep 30)


def daily(days: Mapping[str, Sequence[int]]) -> list[tuple[date, int]]:
    """(day, delivered) from the first to the last day of ``days``, missing days as 0; bad dates ignored."""
    parsed: dict[date, int] = {}
    for text, values in days.items():
        try:
            parsed[date.fromisoformat(text)] = int(values[0]) if values else 0
        except (ValueError, TypeError):
            continue
    if not parsed:
        return []
    last = max(parsed)
    first = max(min(parsed), last - timedelta(days=MAX_DAYS - 1))
    return [(first + timedelta(days=n), parsed.get(first + timedelta(days=n), 0))
            for n in range((last - first).days + 1)]


def sparkline(days: Mapping[str, Sequence[int]], label: str) -> Markup:
    """The deliveries per day as an SVG polyline scaled to its own maximum; a dash when there is no series."""
    series = daily(days)
    if not series:
        return h("span", {"class": "muted"}, "—")
    top = max(n for _, n in series) or 1
    step = (WIDTH - 2 * PAD) / max(len(series) - 1, 1)
    points = [(round(PAD + i * step, 1), round(HEIGHT - PAD - n / top * (HEIGHT - 2 * PAD), 1))
              for i, (_, n) in enumerate(series)]
    if len(points) == 1:  # one day: a flat line across, so it is visible
        points.append((WIDTH - PAD, points[0][1]))
    span = f"{series[0][0].isoformat()} to {series[-1][0].isoformat()}"
    total = sum(n for _, n in series)
    return h("svg", {"class": "spark", "viewBox": f"0 0 {WIDTH} {HEIGHT}", "width": WIDTH, "height": HEIGHT,
                     "role": "img", "aria-label": f"{label}: {total} deliveries, {span}",
                     "xmlns": "http://www.w3.org/2000/svg"},
             h("title", None, f"{total} deliveries, {span}, at most {top} a day"),
             h("polyline", {"points": " ".join(f"{x},{y}" for x, y in points), "class": "spark-line"}))
