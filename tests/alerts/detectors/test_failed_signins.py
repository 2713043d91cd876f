"""Repeated failed sign-ins: more than 10 by one person to one app within 5 minutes."""

from __future__ import annotations

import datetime as dt

import pytest

from . import e2e
from .kit import OTHER_APP, T0, Run, minutes, row

KEY = "failed_signins"


def failures(count: int, start=T0, every: float = 20.0, **fields):
    values = {
        "activity_type": "failed_login",
        "action_type": "UserLoginFailed",
        "succeeded": False,
    }
    values.update(fields)
    return [row(start + dt.timedelta(seconds=n * every), **values) for n in range(count)]


@pytest.mark.parametrize(("count", "alerts"), [(10, False), (11, True)])
def test_the_threshold_is_more_than_ten_within_five_minutes(count, alerts):
    found = Run(KEY).batch(*failures(count))
    assert bool(found) is alerts
    if found:
        [finding] = found
        assert finding.title == "11 failed sign-ins within 5 minutes"
        assert finding.key == str(found[0].rows[0].app_instance_id)


def test_counted_per_app():
    rows = failures(6) + failures(6, app_instance_id=OTHER_APP)
    assert Run(KEY).batch(*rows) == []
    found = Run(KEY).batch(*failures(11), *failures(11, app_instance_id=OTHER_APP))
    assert len(found) == 2
    assert {f.key for f in found} == {str(r.rows[0].app_instance_id) for r in found}
    assert len({f.subject for f in found}) == 1


def test_a_sign_in_marked_failed_counts_and_successes_do_not():
    rows = failures(11, activity_type="login")
    assert len(Run(KEY).batch(*rows)) == 1
    assert Run(KEY).batch(*failures(20, activity_type="login", succeeded=True)) == []


def test_late_failures_complete_a_window():
    run = Run(KEY)
    rows = failures(11)
    assert run.batch(*rows[5:]) == []
    assert len(run.batch(*rows[:5])) == 1


@pytest.mark.django_db(databases="__all__")
def test_end_to_end_and_switching_off(tenant_a):
    app = e2e.setup(tenant_a)
    start = e2e.base()

    def failed(n, base=start, actor="ann@a.example"):
        return e2e.event(
            base + dt.timedelta(seconds=10 * n),
            actor=actor,
            action_type="UserLoginFailed",
            activity_type="failed_login",
            succeeded=False,
        )

    e2e.feed(tenant_a, app, [failed(n) for n in range(11)])
    [alert] = e2e.alerts_of(tenant_a, KEY)
    assert alert.title == "11 failed sign-ins within 5 minutes"
    with e2e.detection(tenant_a, KEY) as policy:
        policy.enabled = False
    e2e.feed(tenant_a, app, [failed(n, start + minutes(30), "bob@a.example") for n in range(11)])
    assert len(e2e.alerts_of(tenant_a, KEY)) == 1
    with e2e.detection(tenant_a, KEY) as policy:
        policy.enabled = True
        policy.tuning = {**policy.tuning, "limit": 3}
    e2e.feed(tenant_a, app, [failed(n, start + minutes(60), "carl@a.example") for n in range(4)])
    assert len(e2e.alerts_of(tenant_a, KEY)) == 2
