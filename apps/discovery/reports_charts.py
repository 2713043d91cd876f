"""Geometry of the report charts, drawn server-side as inline SVG by the templates.

The console's CSP forbids inline style attributes, so the templates use SVG presentation
attributes (x, y, width, height, stroke-dasharray) for geometry and CSS classes from
`static/discovery/reports.css` for colours. No chart library, no CDN.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

WIDTH = 600  # viewBox width of the bar charts
LABEL = 190  # room for the category labels
ROW = 26


@dataclass(frozen=True)
class Segment:
    """One coloured part of a stacked bar."""

    x: float
    width: float
    css: str
    value: int
    label: str


@dataclass(frozen=True)
class Bar:
    """One category's row of the bar chart."""

    label: str
    y: float
    segments: list[Segment]
    total: int


def category_bars(categories: list[dict], limit: int = 10) -> dict:
    """Horizontal stacked bars: traffic per category split sanctioned/unsanctioned/other."""
    shown = categories[:limit]
    peak = max((c["traffic"] for c in shown), default=0) or 1
    span = WIDTH - LABEL - 10
    bars = []
    for index, entry in enumerate(shown):
        x = float(LABEL)
        segments = []
        for part in ("sanctioned", "unsanctioned", "other"):
            width = entry[part] / peak * span
            if entry[part]:
                segments.append(Segment(round(x, 2), round(width, 2), part, entry[part], part))
            x += width
        bars.append(Bar(entry["label"], index * ROW, segments, entry["traffic"]))
    return {"bars": bars, "height": max(len(bars), 1) * ROW, "width": WIDTH, "label_x": LABEL - 8}


@dataclass(frozen=True)
class Arc:
    """One risk level's arc of the donut."""

    css: str
    label: str
    value: int
    dash: str  # stroke-dasharray "length gap" on a circle of circumference 100
    offset: float
    percent: int


def donut(levels: dict[str, dict]) -> dict:
    """Risk levels donut: each level's share of traffic as an arc of a circle of length 100."""
    total = sum(entry["traffic"] for entry in levels.values())
    arcs = []
    start = 0.0
    for level, label in (
        ("high", "High risk"),
        ("medium", "Medium risk"),
        ("low", "Low risk"),
        ("unscored", "Unscored"),
    ):
        value = levels.get(level, {}).get("traffic", 0)
        share = value / total * 100 if total else 0.0
        # The circle starts at 3 o'clock; 25 turns the first arc to start at 12 o'clock.
        arcs.append(
            Arc(
                level,
                label,
                value,
                f"{share:.3f} {100 - share:.3f}",
                round(25 - start, 3),
                round(share),
            )
        )
        start += share
    return {"arcs": arcs, "total": total}


@dataclass(frozen=True)
class Column:
    """One day's column: download at the bottom, upload on top."""

    day: date
    x: float
    up_y: float
    up_height: float
    down_y: float
    down_height: float
    up: int
    down: int


def daily_columns(
    daily: list[dict], since: date | None, until: date | None, height: int = 160
) -> dict:
    """Vertical stacked columns per day (upload on download), every day of the range shown."""
    by_day = {row["day"]: row for row in daily}
    if since is None or until is None:  # a snapshot: its own range
        days = sorted(by_day)
        since, until = (days[0], days[-1]) if days else (None, None)
    if since is None:
        return {"columns": [], "width": WIDTH, "height": height}
    span = (until - since).days + 1
    peak = max((row["up"] + row["down"] for row in daily), default=0) or 1
    step = WIDTH / span
    columns = []
    for offset in range(span):
        day = since + timedelta(days=offset)
        row = by_day.get(day, {"up": 0, "down": 0})
        down_h = row["down"] / peak * height
        up_h = row["up"] / peak * height
        columns.append(
            Column(
                day,
                round(offset * step + step * 0.1, 2),
                round(height - down_h - up_h, 2),
                round(up_h, 2),
                round(height - down_h, 2),
                round(down_h, 2),
                row["up"],
                row["down"],
            )
        )
    return {
        "columns": columns,
        "width": WIDTH,
        "height": height,
        "bar_width": round(step * 0.8, 2),
        "first": since,
        "last": until,
    }
