"""Mass deletion: more than 50 deletions within 5 minutes by one person (our default)."""

from __future__ import annotations

import datetime as dt

import pytest

from . import e2e
from .kit import T0, Run, minutes, row

KEY = "mass_deletion"


def deletions(count: int, start=T0, every: float = 5.0, **fields):
    values = {"activity_type": "delete", "action_type": "FileDeleted"}
    values.update(fields)
    return [row(start + dt.timedelta(seconds=n * every), **values) for n in range(count)]


@pytest.mark.parametrize(("count", "alerts"), [(50, False), (51, True)])
def test_the_threshold_is_more_than_fifty_within_five_minutes(count, alerts):
    found = Run(KEY).batch(*deletions(count))  # one every 5 s: 51 take 250 s
    assert bool(found) is alerts
    if found:
        assert found[0].title == "51 deletions within 5 minutes"


def test_deleting_users_is_not_deleting_files():
    rows = deletions(60, activity_type="delete_user", action_type="Delete user.")
    assert Run(KEY).batch(*rows) == []


def test_just_outside_the_window_does_not_alert():
    assert Run(KEY).batch(*deletions(51, every=6.01)) == []  # 51 deletions over 300.5 s


def test_out_of_order_batches():
    run = Run(KEY)
    rows = deletions(51)
    assert run.each(*rows[1:]) == []
    assert len(run.batch(rows[0])) == 1


@pytest.mark.django_db(databases="__all__")
def test_end_to_end_and_tuning(tenant_a):
    app = e2e.setup(tenant_a)
    start = e2e.base()

    def delete(n, base=start):
        return e2e.event(
            base + dt.timedelta(seconds=4 * n), action_type="FileDeleted", activity_type="delete"
        )

    e2e.feed(tenant_a, app, [delete(n) for n in range(51)])
    [alert] = e2e.alerts_of(tenant_a, KEY)
    assert alert.title == "51 deletions within 5 minutes"
    assert alert.severity == 3  # high
    with e2e.detection(tenant_a, KEY) as policy:
        policy.tuning = {**policy.tuning, "minutes": 1}
    e2e.feed(tenant_a, app, [delete(n, start + minutes(60)) for n in range(51)])
    assert len(e2e.alerts_of(tenant_a, KEY)) == 1
    assert e2e.alerts_of(tenant_a, KEY)[0].trigger_count == 1
