"""Impossible travel: distance and speed, borders, learning, suppressions, late activities."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.activities.models import IpCategory
from apps.alerts.detectors import geo
from apps.alerts.detectors.impossible_travel import MAX_COUNTRIES, MAX_RUNS
from apps.alerts.models import AlertActivity
from apps.tenants.scoping import tenant_context

from . import e2e
from .kit import IPS, T0, Run, days, minutes, row, subject

KEY = "impossible_travel"
KNOWN = T0 - days(8)  # an activity this long ago ends the 7-day learning period


def known(run: Run, *actors: str, country: str = "FR") -> None:
    """Make the people known for longer than the learning period, in one country."""
    for actor in actors or ("ann@a.example",):
        assert run.batch(row(KNOWN, actor=actor, country=country)) == []


def test_a_sign_in_too_far_too_soon_alerts_with_a_readable_title():
    run = Run(KEY)
    known(run)
    paris = row(T0, country="FR")
    sydney = row(T0 + minutes(40), country="AU")
    [finding] = run.batch(paris, sydney)
    distance = geo.distance_km("FR", "AU")
    assert finding.title == f"Sign-in from AU 40 minutes after FR ({distance:,.0f} km)"
    assert finding.subject == subject()
    assert finding.key == "AU-FR"
    assert finding.rows == [paris, sydney]
    assert "France" in finding.description and "Australia" in finding.description
    assert IPS["FR"] in finding.evidence[0] and IPS["AU"] in finding.evidence[1]


def test_same_or_bordering_countries_never_alert():
    run = Run(KEY)
    known(run)
    assert run.batch(row(T0, country="FR"), row(T0 + minutes(1), country="FR")) == []
    assert run.batch(row(T0 + minutes(2), country="DE")) == []  # FR and DE share a border
    assert run.batch(row(T0 + minutes(3), country="BE")) == []  # DE and BE too


def test_enough_time_to_travel_does_not_alert():
    run = Run(KEY)
    known(run)
    assert run.batch(row(T0, country="FR"), row(T0 + dt.timedelta(hours=19), country="AU")) == []


@pytest.mark.parametrize(("spare", "alerts"), [(-60, True), (60, False)])
def test_the_speed_threshold_is_the_boundary(spare, alerts):
    run = Run(KEY)
    known(run)
    needed = (geo.distance_km("FR", "US") - 500) / 900 * 3600  # default speed and slack
    later = T0 + dt.timedelta(seconds=needed + spare)
    found = run.batch(row(T0, country="FR"), row(later, country="US"))
    assert bool(found) is alerts


def test_tuning_speed_and_slack_changes_the_outcome():
    sluggish = Run(KEY, speed_kmh=100)
    known(sluggish)
    pair = (row(T0, country="FR"), row(T0 + dt.timedelta(hours=19), country="AU"))
    assert len(sluggish.batch(*pair)) == 1
    forgiving = Run(KEY, distance_slack_km=5000)
    known(forgiving)
    assert forgiving.batch(row(T0, country="GB"), row(T0 + minutes(30), country="ES")) == []


def test_no_alert_during_the_learning_period_then_alerts():
    run = Run(KEY)
    first = T0 - days(6)
    assert run.batch(row(first, country="FR"), row(first + minutes(40), country="AU")) == []
    assert run.state(subject())["since"] == int(first.timestamp())
    # Day 6 and a bit: still learning.
    assert run.batch(row(T0, country="FR"), row(T0 + minutes(40), country="AU")) == []
    later = first + days(7)
    assert len(run.batch(row(later, country="FR"), row(later + minutes(40), country="JP"))) == 1


def test_learning_days_zero_alerts_at_once():
    run = Run(KEY, learning_days=0)
    assert len(run.batch(row(T0, country="FR"), row(T0 + minutes(40), country="AU"))) == 1


def test_failed_activities_and_cloud_provider_addresses_are_ignored():
    run = Run(KEY)
    known(run)
    assert (
        run.batch(row(T0, country="FR"), row(T0 + minutes(5), country="AU", succeeded=False)) == []
    )
    cloud = row(T0 + minutes(6), country="US", ip_category=IpCategory.CLOUD_PROVIDER)
    assert run.batch(cloud) == []
    kept = Run(KEY, ignore_cloud_provider=False)
    known(kept)
    assert len(kept.batch(row(T0, country="FR"), cloud)) == 1


@pytest.mark.parametrize(
    ("first", "second", "sensitivity", "alerts"),
    [
        (IpCategory.CORPORATE, IpCategory.VPN, "medium", False),  # both safe: suppressed
        (IpCategory.CORPORATE, IpCategory.CORPORATE, "low", False),
        (IpCategory.CORPORATE, IpCategory.CORPORATE, "high", True),  # high: system only
        (IpCategory.CORPORATE, None, "medium", True),  # one safe side still alerts
        (None, IpCategory.VPN, "low", True),
        (IpCategory.RISKY, None, "medium", True),
    ],
)
def test_safe_addresses_suppress_only_when_both_are_safe(first, second, sensitivity, alerts):
    run = Run(KEY, sensitivity=sensitivity)
    known(run)
    found = run.batch(
        row(T0, country="FR", ip_category=first),
        row(T0 + minutes(40), country="AU", ip_category=second),
    )
    assert bool(found) is alerts
    if found and (first in (1, 4) or second in (1, 4)):
        assert "Corporate or VPN" in found[0].description


def _usual(run: Run, actor: str, *countries: str) -> None:
    """Three days in each country, far apart in time (no travel to judge)."""
    moment = T0 - days(40)
    for country in countries:
        for _ in range(3):
            run.batch(row(moment, actor=actor, country=country))
            moment += days(1)


@pytest.mark.parametrize(
    ("sensitivity", "alerts"), [("low", False), ("medium", False), ("high", True)]
)
def test_a_pair_of_the_persons_usual_countries_is_a_user_suppression(sensitivity, alerts):
    run = Run(KEY, sensitivity=sensitivity)
    _usual(run, "ann@a.example", "FR", "US")
    found = run.batch(row(T0, country="FR"), row(T0 + minutes(30), country="US"))
    assert bool(found) is alerts


def test_usual_for_the_person_needs_both_countries():
    run = Run(KEY)
    _usual(run, "ann@a.example", "FR")
    assert len(run.batch(row(T0, country="FR"), row(T0 + minutes(30), country="US"))) == 1


@pytest.mark.parametrize(("sensitivity", "alerts"), [("low", False), ("medium", True)])
def test_a_country_common_in_the_tenant_is_a_tenant_suppression(sensitivity, alerts):
    run = Run(KEY, sensitivity=sensitivity, tenant_common_people=3)
    for n in range(3):
        _usual(run, f"p{n}@a.example", "AU")
    assert run.state("tenant")["c"]["AU"] == 3
    _usual(run, "ann@a.example", "FR")
    found = run.batch(row(T0, country="FR"), row(T0 + minutes(30), country="AU"))
    assert bool(found) is alerts


def test_low_sensitivity_suppresses_a_pair_already_alerted_in_the_tenant():
    run = Run(KEY, sensitivity="low")
    known(run, "bob@a.example", "eve@a.example")
    bob = run.batch(
        row(T0, actor="bob@a.example"), row(T0 + minutes(30), actor="bob@a.example", country="AU")
    )
    assert len(bob) == 1
    later = T0 + days(1)
    eve = (
        row(later, actor="eve@a.example"),
        row(later + minutes(30), actor="eve@a.example", country="AU"),
    )
    assert run.batch(*eve) == []
    medium = Run(KEY, sensitivity="medium")
    medium.states = run.states
    assert len(medium.batch(*eve)) == 1


def test_a_late_activity_is_judged_against_what_came_after_it():
    run = Run(KEY)
    known(run)
    assert run.batch(row(T0 + minutes(40), country="AU")) == []
    [finding] = run.batch(row(T0, country="FR"))  # arrives late, happened first
    assert finding.title.startswith("Activity from AU 40 minutes after FR")


def test_a_late_activity_inside_a_run_of_another_country_alerts():
    run = Run(KEY)
    known(run)
    assert run.batch(row(T0, country="FR"), row(T0 + minutes(120), country="FR")) == []
    [finding] = run.batch(row(T0 + minutes(60), country="AU"))
    assert finding.key == "AU-FR"
    runs = run.state(subject())["r"]
    assert [r[2] for r in runs] == ["FR", "AU", "FR"]  # the FR run was split around it
    assert [r[0] for r in runs] == [int((T0 + minutes(m)).timestamp()) for m in (0, 60, 120)]


def test_one_finding_per_pair_and_batch_with_every_hop_linked():
    run = Run(KEY)
    known(run)
    hops = [row(T0 + minutes(10 * n), country=("FR", "AU")[n % 2]) for n in range(4)]
    [finding] = run.batch(*hops)
    assert finding.rows == hops


def test_other_people_do_not_mix():
    run = Run(KEY)
    known(run, "ann@a.example", "bob@a.example")
    assert (
        run.batch(
            row(T0, actor="ann@a.example"),
            row(T0 + minutes(5), actor="bob@a.example", country="AU"),
        )
        == []
    )


def test_memory_stays_bounded():
    run = Run(KEY, learning_days=0, sensitivity="high")
    countries = [c for c in ("FR", "AU", "US", "JP", "BR") for _ in range(1)]
    moment = T0
    for n in range(60):
        run.batch(row(moment, country=countries[n % len(countries)]))
        moment += minutes(7)
    far = ["AR", "CL", "ZA", "IN", "CN", "RU", "MX", "CA", "NZ", "EG", "KE"]
    far += ["NG", "SA", "TR", "IT", "PL", "SE", "NO", "FI", "IS", "PT", "GR"]
    for n, code in enumerate(far):
        run.batch(row(moment + days(n + 5), country=code))
    state = run.state(subject())
    assert len(state["r"]) <= MAX_RUNS
    assert len(state["c"]) <= MAX_COUNTRIES


# --- End to end: ingestion, evaluation, the policy row ---------------------------------------


@pytest.mark.django_db(databases="__all__")
def test_end_to_end_ingested_sign_ins_raise_one_alert(tenant_a):
    app = e2e.setup(tenant_a)
    start = e2e.base()
    e2e.feed(
        tenant_a,
        app,
        [e2e.travel_event(start - days(8), "FR")],
        [e2e.travel_event(start, "FR"), e2e.travel_event(start + minutes(40), "AU")],
    )
    [alert] = e2e.alerts_of(tenant_a, KEY)
    assert alert.title.startswith("Sign-in from AU 40 minutes after FR (")
    assert alert.alert_type == "anomaly"
    assert sorted(alert.ips) == sorted([IPS["FR"], IPS["AU"]])
    with tenant_context(tenant_a):
        assert AlertActivity.objects.filter(alert=alert).count() == 2


@pytest.mark.django_db(databases="__all__")
def test_end_to_end_switching_off_and_tuning_change_the_outcome(tenant_a):
    app = e2e.setup(tenant_a)
    start = e2e.base()

    def trip(actor: str, at: dt.datetime) -> list:
        return [e2e.travel_event(at, "FR", actor), e2e.travel_event(at + minutes(40), "JP", actor)]

    with e2e.detection(tenant_a, KEY) as policy:
        policy.enabled = False
    e2e.feed(tenant_a, app, [e2e.travel_event(start - days(8), "FR")], trip("ann@a.example", start))
    assert e2e.alerts_of(tenant_a, KEY) == []
    # Back on with the defaults: Bob is new, so he is in his learning period.
    with e2e.detection(tenant_a, KEY) as policy:
        policy.enabled = True
    e2e.feed(tenant_a, app, trip("bob@a.example", start + minutes(60)))
    assert e2e.alerts_of(tenant_a, KEY) == []
    # Tuned without a learning period: Carl, just as new, alerts.
    with e2e.detection(tenant_a, KEY) as policy:
        policy.tuning = {**policy.tuning, "learning_days": 0}
    e2e.feed(tenant_a, app, trip("carl@a.example", start + minutes(120)))
    [alert] = e2e.alerts_of(tenant_a, KEY)
    assert alert.title.startswith("Sign-in from JP 40 minutes after FR")


def test_memory_is_written_back_only_when_it_matters():
    run = Run(KEY)
    known(run)
    run.batch(row(T0, country="FR"))
    run.batch(row(T0 + minutes(5), country="FR"))
    assert run.written == set()  # the run's end moved on 5 minutes: not worth a write
    run.batch(row(T0 + minutes(11), country="FR"))
    assert run.written == {subject()}
    assert run.state(subject())["r"][-1][1] == int((T0 + minutes(11)).timestamp())
    # What was not written only makes the next comparison more lenient, never stricter.
    run.batch(row(T0 + minutes(12), country="FR"))
    [finding] = run.batch(row(T0 + minutes(40), country="AU"))
    assert "AU 29 minutes after FR" in finding.title  # from the stored 11, not the lost 12
