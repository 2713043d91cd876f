"""Chart geometry: the donut's arcs cover the circle once, bars scale to the busiest row, every
day of the period gets a column."""

from __future__ import annotations

from datetime import date

from apps.discovery import reports_charts


def test_donut_arcs_add_up_and_follow_each_other():
    levels = {"high": {"traffic": 25}, "medium": {"traffic": 25}, "low": {"traffic": 50}}
    arcs = reports_charts.donut(levels)["arcs"]
    assert [a.percent for a in arcs] == [25, 25, 50, 0]
    assert [a.offset for a in arcs] == [25, 0, -25, -75]
    assert reports_charts.donut({})["total"] == 0


def test_category_bars_scale_to_the_busiest():
    cats = [
        {"label": "A", "traffic": 100, "sanctioned": 50, "unsanctioned": 0, "other": 50},
        {"label": "B", "traffic": 50, "sanctioned": 0, "unsanctioned": 50, "other": 0},
    ]
    chart = reports_charts.category_bars(cats)
    first, second = chart["bars"]
    span = reports_charts.WIDTH - reports_charts.LABEL - 10
    assert sum(s.width for s in first.segments) == span
    assert [s.css for s in second.segments] == ["unsanctioned"]
    assert second.segments[0].width == span / 2


def test_daily_columns_cover_every_day():
    daily = [{"day": date(2026, 1, 3), "up": 10, "down": 30}]
    chart = reports_charts.daily_columns(daily, date(2026, 1, 1), date(2026, 1, 7))
    assert len(chart["columns"]) == 7
    busy = chart["columns"][2]
    assert busy.down_height + busy.up_height == chart["height"]
    assert reports_charts.daily_columns([], None, None)["columns"] == []
