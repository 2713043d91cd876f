"""Mass download: more than 50 downloads within 1 minute by one person (spec 3.9)."""

from __future__ import annotations

import datetime as dt

import pytest

from . import e2e
from .kit import T0, Run, minutes, row

KEY = "mass_download"


def downloads(count: int, start=T0, every: float = 1.0, actor="ann@a.example", **fields):
    values = {"activity_type": "download", "action_type": "FileDownloaded"}
    values.update(fields)
    return [
        row(start + dt.timedelta(seconds=n * every), actor=actor, **values) for n in range(count)
    ]


@pytest.mark.parametrize(("count", "alerts"), [(50, False), (51, True)])
def test_the_threshold_is_more_than_fifty_within_a_minute(count, alerts):
    found = Run(KEY).batch(*downloads(count))
    assert bool(found) is alerts
    if found:
        [finding] = found
        assert finding.title == "51 downloads within 1 minute"
        assert len(finding.rows) == 51
        assert "more than 50 within 1 minute" in finding.description
        assert len(finding.evidence) == 5


def test_a_slower_pace_does_not_alert():
    assert Run(KEY).batch(*downloads(200, every=1.3)) == []


def test_other_activities_and_other_people_do_not_count():
    rows = downloads(30) + downloads(30, actor="bob@a.example")
    rows += downloads(30, activity_type="view", action_type="FileAccessed")
    assert Run(KEY).batch(*rows) == []


def test_a_burst_split_across_batches_and_arriving_out_of_order():
    run = Run(KEY)
    rows = downloads(51)
    assert run.batch(*rows[25:]) == []  # the later half first
    [finding] = run.batch(*rows[:25])  # then the earlier half, late
    assert finding.title == "51 downloads within 1 minute"


def test_a_long_burst_is_one_finding_per_window_not_per_download():
    found = Run(KEY).batch(*downloads(200, every=0.5))
    assert 1 < len(found) <= 4  # 200 downloads in 100 s: about one per 51


def test_tuning():
    run = Run(KEY, limit=5, minutes=10)
    assert len(run.batch(*downloads(6, every=100))) == 1


@pytest.mark.django_db(databases="__all__")
def test_end_to_end_and_switching_off(tenant_a):
    app = e2e.setup(tenant_a)
    start = e2e.base()
    burst = [e2e.event(start + dt.timedelta(seconds=n)) for n in range(51)]
    e2e.feed(tenant_a, app, burst[:20], burst[20:])
    [alert] = e2e.alerts_of(tenant_a, KEY)
    assert alert.title == "51 downloads within 1 minute"
    with e2e.detection(tenant_a, KEY) as policy:
        policy.enabled = False
    later = start + minutes(30)
    e2e.feed(tenant_a, app, [e2e.event(later + dt.timedelta(seconds=n)) for n in range(60)])
    assert len(e2e.alerts_of(tenant_a, KEY)) == 1
    with e2e.detection(tenant_a, KEY) as policy:
        policy.enabled = True
        policy.tuning = {**policy.tuning, "limit": 100}
    later = start + minutes(60)
    e2e.feed(tenant_a, app, [e2e.event(later + dt.timedelta(seconds=n)) for n in range(60)])
    [alert] = e2e.alerts_of(tenant_a, KEY)
    assert alert.trigger_count == 1
