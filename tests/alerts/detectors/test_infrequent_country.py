"""Activity from an infrequent country: per-person countries with last-seen dates."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.activities.models import IpCategory
from apps.alerts.detectors.new_country import MAX_COUNTRIES

from . import e2e
from .kit import T0, Run, days, minutes, row, subject

KEY = "infrequent_country"


def settled(run: Run, country: str = "FR", actor: str = "ann@a.example") -> None:
    """Known for ten days, from one country."""
    for n in range(10, 0, -1):
        assert run.batch(row(T0 - days(n), actor=actor, country=country)) == []


def test_a_country_never_seen_alerts_once_per_visit():
    run = Run(KEY)
    settled(run)
    first = row(T0, country="BR", isp="NIC.br")
    [finding] = run.batch(first, row(T0 + minutes(5), country="BR"))
    assert finding.title == "Activity from an infrequent country Brazil (BR)"
    assert finding.key == "BR" and finding.subject == subject()
    assert finding.rows == [first]
    assert "no such activity from this country was seen for them before" in finding.description
    assert "Other countries seen: FR" in finding.description
    assert run.batch(row(T0 + days(1), country="BR")) == []  # now known


def test_the_usual_country_and_failed_activities_do_not_alert():
    run = Run(KEY)
    settled(run)
    assert run.batch(row(T0, country="FR")) == []
    assert run.batch(row(T0, country="JP", succeeded=False)) == []
    assert run.batch(row(T0, country="")) == []


@pytest.mark.parametrize(("extra_seconds", "alerts"), [(0, False), (1, True)])
def test_a_country_is_infrequent_again_after_forget_days(extra_seconds, alerts):
    run = Run(KEY)
    settled(run)
    run.batch(row(T0, country="JP"))
    again = T0 + days(30) + dt.timedelta(seconds=extra_seconds)  # exactly 30 days: still recent
    found = run.batch(row(again, country="JP"))
    assert bool(found) is alerts
    if found:
        assert f"the last one from this country was on {T0:%Y-%m-%d}" in found[0].description


def test_tuned_forget_days():
    run = Run(KEY, forget_days=7)
    settled(run)
    run.batch(row(T0, country="JP"))
    assert len(run.batch(row(T0 + days(8), country="JP"))) == 1


def test_learning_period_records_but_does_not_alert():
    run = Run(KEY)
    assert run.batch(row(T0, country="FR"), row(T0 + days(3), country="JP")) == []
    assert set(run.state(subject())["c"]) == {"FR", "JP"}
    assert run.batch(row(T0 + days(6), country="BR")) == []  # day 6: still learning
    assert len(run.batch(row(T0 + days(7), country="ES"))) == 1


def test_safe_addresses_and_ignored_countries():
    run = Run(KEY, ignore_countries=["jp"])
    settled(run)
    assert run.batch(row(T0, country="BR", ip_category=IpCategory.VPN)) == []
    assert run.batch(row(T0, country="JP")) == []
    assert run.batch(row(T0 + days(1), country="BR")) == []  # known since the VPN visit
    strict = Run(KEY, ignore_safe_ips=False)
    settled(strict)
    assert len(strict.batch(row(T0, country="BR", ip_category=IpCategory.CORPORATE))) == 1


def test_late_activities_of_a_known_visit_do_not_alert_again():
    run = Run(KEY)
    settled(run)
    assert len(run.batch(row(T0 + minutes(60), country="JP"))) == 1
    assert run.batch(row(T0, country="JP")) == []  # arrives late, same visit
    assert run.batch(row(T0 - days(60), country="JP")) == []  # old history, not news


def test_memory_stays_bounded():
    run = Run(KEY, learning_days=0)
    codes = ["AR", "CL", "ZA", "IN", "CN", "RU", "MX", "CA", "NZ", "EG", "KE", "NG", "SA", "TR"]
    codes += ["IT", "PL", "SE", "NO", "FI", "IS", "PT", "GR", "JP", "BR", "US", "AU", "FR"]
    codes += ["DE", "ES", "BE", "NL", "IE", "GB"]
    for n, code in enumerate(codes):
        run.batch(row(T0 + minutes(n), country=code))
    assert len(run.state(subject())["c"]) == MAX_COUNTRIES


@pytest.mark.django_db(databases="__all__")
def test_end_to_end_and_switching_off_and_tuning(tenant_a):
    tenant, app = tenant_a, e2e.setup(tenant_a)
    start = e2e.base()
    e2e.feed(
        tenant,
        app,
        [e2e.travel_event(start - days(9), "FR")],
        [e2e.travel_event(start, "JP")],
    )
    [alert] = e2e.alerts_of(tenant, KEY)
    assert alert.title == "Activity from an infrequent country Japan (JP)"
    with e2e.detection(tenant, KEY) as policy:
        policy.enabled = False
    e2e.feed(tenant, app, [e2e.travel_event(start + minutes(30), "BR")])
    assert len(e2e.alerts_of(tenant, KEY)) == 1
    with e2e.detection(tenant, KEY) as policy:
        policy.enabled = True
        policy.tuning = {**policy.tuning, "ignore_countries": ["US"]}
    e2e.feed(tenant, app, [e2e.travel_event(start + minutes(60), "US")])
    assert len(e2e.alerts_of(tenant, KEY)) == 1
    e2e.feed(tenant, app, [e2e.travel_event(start + minutes(90), "AU")])
    assert len(e2e.alerts_of(tenant, KEY)) == 2


def test_memory_is_written_back_when_a_visit_reaches_another_day():
    run = Run(KEY)
    settled(run)
    run.batch(row(T0, country="FR"))
    assert run.written == {subject()}  # a new day of the FR visit
    run.batch(row(T0 + minutes(60), country="FR"))
    assert run.written == set()  # the same day: not worth a write
    run.batch(row(T0 + days(1), country="FR"))
    assert run.written == {subject()}
