"""Administrative activity from a new country: countries of each person's admin activity."""

from __future__ import annotations

import pytest

from apps.activities.models import IpCategory

from . import e2e
from .kit import T0, Run, days, minutes, row, subject

KEY = "admin_new_country"


def admin(when, country="FR", **fields):
    values = {"is_admin": True, "action_type": "Add member to role.", "activity_type": "admin"}
    values.update(fields)
    return row(when, country=country, **values)


def settled(run: Run) -> None:
    assert run.batch(admin(T0 - days(10)), admin(T0 - days(9))) == []


def test_admin_activity_from_a_new_country_alerts():
    run = Run(KEY)
    settled(run)
    first = admin(T0, "US")
    [finding] = run.batch(first, admin(T0 + minutes(1), "US"))
    assert finding.title == "Administrative activity from a new country United States (US)"
    assert finding.key == "US" and finding.rows == [first]
    assert run.batch(admin(T0 + days(200), "US")) == []  # never forgotten


def test_ordinary_activity_does_not_count_either_way():
    run = Run(KEY)
    settled(run)
    assert run.batch(row(T0, country="US")) == []  # not administrative
    assert len(run.batch(admin(T0 + minutes(1), "US"))) == 1  # US still new for admin work


def test_learning_period_of_admin_activity():
    run = Run(KEY)
    run.batch(row(T0 - days(30), country="FR"))  # ordinary activity teaches nothing
    assert run.batch(admin(T0, "FR"), admin(T0 + days(2), "US")) == []
    assert run.state(subject())["since"] == int(T0.timestamp())
    assert run.batch(admin(T0 + days(6), "JP")) == []
    assert len(run.batch(admin(T0 + days(7), "BR"))) == 1


@pytest.mark.parametrize(
    ("fields", "tuning", "alerts"),
    [
        ({"succeeded": False}, {}, False),
        ({"ip_category": IpCategory.CORPORATE}, {}, False),
        ({"ip_category": IpCategory.CORPORATE}, {"ignore_safe_ips": False}, True),
        ({"ip_category": IpCategory.CLOUD_PROVIDER}, {}, False),
        ({}, {"ignore_countries": ["us"]}, False),
        ({}, {}, True),
    ],
)
def test_suppressions(fields, tuning, alerts):
    run = Run(KEY, **tuning)
    settled(run)
    assert bool(run.batch(admin(T0, "US", **fields))) is alerts


def test_a_late_admin_activity_from_a_known_country_is_quiet():
    run = Run(KEY)
    settled(run)
    assert len(run.batch(admin(T0, "US"))) == 1
    assert run.batch(admin(T0 - minutes(30), "US")) == []


@pytest.mark.django_db(databases="__all__")
def test_end_to_end_and_tuning(tenant_a):
    app = e2e.setup(tenant_a)
    start = e2e.base()

    def admin_event(when, country):
        return e2e.travel_event(
            when, country, action_type="Add member to role.", activity_type="admin", is_admin=True
        )

    e2e.feed(tenant_a, app, [admin_event(start - days(8), "FR")], [admin_event(start, "US")])
    [alert] = e2e.alerts_of(tenant_a, KEY)
    assert alert.title == "Administrative activity from a new country United States (US)"
    assert alert.category == "privileged_accounts"
    with e2e.detection(tenant_a, KEY) as policy:
        policy.tuning = {**policy.tuning, "ignore_countries": ["JP"]}
    e2e.feed(tenant_a, app, [admin_event(start + minutes(5), "JP")])
    assert len(e2e.alerts_of(tenant_a, KEY)) == 1
    with e2e.detection(tenant_a, KEY) as policy:
        policy.enabled = False
    e2e.feed(tenant_a, app, [admin_event(start + minutes(10), "BR")])
    assert len(e2e.alerts_of(tenant_a, KEY)) == 1
