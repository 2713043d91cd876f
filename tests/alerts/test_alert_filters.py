"""The alert queue's FilterSet (shared by console, API and exports), over alerts raised by the
real `raise_alerts`, and one alert raised end to end by ingestion + evaluation."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from apps.activities import partitions
from apps.alerts import selectors, services
from apps.alerts.filtersets import AlertFilterSet
from apps.alerts.models import AlertType, Category
from apps.tenants.scoping import tenant_context
from tests.activities import logdata

from .alertdata import default_policy, directory, make_alert
from .helpers import evaluate, event, ingest_events, policy

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def world(tenant_a, sam):
    crm, bob, bob_acct = directory(tenant_a, "CRM", "bob")
    mail = logdata.app(tenant_a, "Mail")
    eve = logdata.person(tenant_a, "eve@alpha.test", "Eve")
    other = default_policy(tenant_a, name="Other policy", category=Category.COMPLIANCE)
    now = logdata.base_time()
    alerts = {
        "bob_high": make_alert(
            tenant_a,
            app=crm,
            person=bob,
            account=bob_acct,
            title="Bob downloads",
            severity=3,
            ip="203.0.113.5",
        ),
        "eve_low": make_alert(
            tenant_a,
            app=mail,
            person=eve,
            title="Eve forwards mail",
            description="Inbox rule to outside",
            severity=1,
            policy=other,
            when=now - dt.timedelta(days=3),
            alert_type=AlertType.ANOMALY,
        ),
        "bob_old": make_alert(
            tenant_a, app=mail, person=bob, title="Bob old", when=now - dt.timedelta(days=10)
        ),
    }
    with tenant_context(tenant_a):
        services.resolve(
            tenant=tenant_a,
            actor=sam,
            alert=alerts["bob_old"],
            resolution="false_positive",
            reason="not_accurate",
        )
        services.assign(tenant=tenant_a, actor=sam, alert=alerts["eve_low"], assignee_id=sam.pk)
        services.mark_read(tenant=tenant_a, actor=sam, alert=alerts["bob_high"])
    return {"crm": crm, "mail": mail, "bob": bob, "acct": bob_acct, "other": other, **alerts}


def _titles(tenant, params, user=None) -> list[str] | dict:
    request = SimpleNamespace(user=user)
    with tenant_context(tenant):
        filterset = AlertFilterSet(params, queryset=selectors.queue(), request=request)
        if not filterset.is_valid():
            return dict(filterset.errors)
        return sorted(alert.title for alert in filterset.qs)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Bob downloads", "Bob old", "Eve forwards mail"]),
        ({"status": ["resolved"]}, ["Bob old"]),
        ({"status": ["open", "resolved"]}, ["Bob downloads", "Bob old", "Eve forwards mail"]),
        ({"open": "true"}, ["Bob downloads", "Eve forwards mail"]),
        ({"open": "false"}, ["Bob old"]),
        ({"severity": ["3", "1"]}, ["Bob downloads", "Eve forwards mail"]),
        ({"category": "compliance"}, ["Eve forwards mail"]),
        ({"alert_type": "anomaly"}, ["Eve forwards mail"]),
        ({"resolution": "false_positive"}, ["Bob old"]),
        ({"read": "true"}, ["Bob downloads"]),
        ({"read": "false"}, ["Bob old", "Eve forwards mail"]),
        ({"ip": "203.0.113.5"}, ["Bob downloads"]),
        ({"assignee": "unassigned"}, ["Bob downloads", "Bob old"]),
        ({"q": "forwards"}, ["Eve forwards mail"]),
        ({"q": "INBOX RULE"}, ["Eve forwards mail"]),  # the description
    ],
)
def test_filters(tenant_a, world, params, expected):
    assert _titles(tenant_a, params) == expected


def test_filters_by_linked_objects_and_dates(tenant_a, sam, alice, world):
    assert _titles(tenant_a, {"user": str(world["bob"].pk)}) == ["Bob downloads", "Bob old"]
    assert _titles(tenant_a, {"account": str(world["acct"].pk)}) == ["Bob downloads"]
    assert _titles(tenant_a, {"app": str(world["mail"].pk)}) == ["Bob old", "Eve forwards mail"]
    assert _titles(tenant_a, {"policy": str(world["other"].pk)}) == ["Eve forwards mail"]
    assert _titles(tenant_a, {"assignee": str(sam.pk)}) == ["Eve forwards mail"]
    assert _titles(tenant_a, {"assignee": "me"}, user=sam) == ["Eve forwards mail"]
    assert _titles(tenant_a, {"assignee": "me"}, user=alice) == []
    today = logdata.base_time().date()
    recent = {"date_from": (today - dt.timedelta(days=4)).isoformat()}
    assert _titles(tenant_a, recent) == ["Bob downloads", "Eve forwards mail"]
    old = {"date_to": (today - dt.timedelta(days=5)).isoformat()}
    assert _titles(tenant_a, old) == ["Bob old"]
    assert len(_titles(tenant_a, {"date_from": "0001-01-01", "date_to": "9999-12-31"})) == 3
    number = world["eve_low"].number
    assert _titles(tenant_a, {"q": f"#{number}"}) == ["Eve forwards mail"]


def test_sort(tenant_a, world):
    with tenant_context(tenant_a):
        by = AlertFilterSet({"sort": "-severity"}, queryset=selectors.queue()).qs
        assert [a.severity for a in by] == [3, 2, 1]
        by = AlertFilterSet({"sort": "number"}, queryset=selectors.queue()).qs
        numbers = [a.number for a in by]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize(
    "params",
    [
        {"status": ["closed"]},
        {"severity": ["high"]},
        {"open": "yes please"},
        {"category": "weather"},
        {"alert_type": "x"},
        {"policy": "1"},
        {"app": "nope"},
        {"ip": "300.1.1.1"},
        {"assignee": "-1"},
        {"assignee": "someone"},
        {"resolution": "maybe"},
        {"date_from": "2024-13-01"},
        {"sort": "password"},
    ],
)
def test_invalid_values_are_errors_of_their_field(tenant_a, world, params):
    errors = _titles(tenant_a, params)
    assert isinstance(errors, dict) and set(errors) == set(params)


def test_another_tenants_ids_match_nothing(tenant_a, tenant_b, world):
    b_app, zed, _ = directory(tenant_b, "Bravo", "zed")
    make_alert(tenant_b, app=b_app, person=zed, title="B alert")
    assert _titles(tenant_a, {"user": str(zed.pk)}) == []
    assert _titles(tenant_a, {"app": str(b_app.pk)}) == []
    assert "B alert" not in _titles(tenant_a, {})


def test_an_alert_raised_by_real_evaluation_is_in_the_queue(tenant_a, sam):
    app = logdata.app(tenant_a, "Contoso")
    policy(tenant_a, name="Downloads from GB", filters={"location.country": {"eq": ["GB"]}})
    now = logdata.base_time()
    ingest_events(tenant_a, app, [event(now), event(now + dt.timedelta(minutes=1))])
    evaluate(tenant_a)
    assert _titles(tenant_a, {"open": "true", "q": "from GB"}) == ["Downloads from GB"]
    with tenant_context(tenant_a):
        [alert] = selectors.queue()
        linked = selectors.linked_activities(alert)
    assert linked.linked == 2 and len(linked.rows) == 2 and linked.missing == 0
    assert {row.ip for row in linked.rows} == {"81.2.69.142"}
