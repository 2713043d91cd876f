"""Test data of the alert queue: alerts raised through the real `raise_alerts`.

`make_alert` writes real activity rows (day-partitioned table, `tests.activities.logdata`), turns
them into the evaluator's `Row`s and raises one alert for them with `apps.alerts.raising`, so
numbers, links (people, accounts, apps, activities) and IPs are exactly what evaluation stores.
Each call uses its own de-duplication key, so it always raises a new alert.
"""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import transaction
from django.utils import timezone

from apps.alerts.detectors.base import ROW_FIELDS, Finding, Row
from apps.alerts.models import Alert, AlertType, Policy
from apps.alerts.raising import raise_alerts
from apps.tenants.scoping import tenant_context
from tests.activities import logdata

_keys = itertools.count(1)


def default_policy(tenant, **fields) -> Policy:
    values = {"name": "Test policy", "severity": 2, "daily_alert_limit": 10_000}
    values.update(fields)
    with tenant_context(tenant):
        policy, _ = Policy.objects.get_or_create(name=values.pop("name"), defaults=values)
        return policy


def as_row(activity) -> Row:
    return Row(**{name: getattr(activity, name) for name in ROW_FIELDS})


def make_alert(
    tenant,
    *,
    app,
    person=None,
    account=None,
    policy: Policy | None = None,
    when: dt.datetime | None = None,
    activities: int = 1,
    title: str = "",
    description: str = "Something happened.",
    severity: int | None = None,
    ip: str = "192.0.2.10",
    evidence: tuple[str, ...] = ("seen from FR",),
    alert_type: str = AlertType.ACTIVITY_POLICY,
) -> Alert:
    """One new alert about `person` / `account` in `app`, linking `activities` fresh rows."""
    when = when or logdata.base_time()
    rows = logdata.add(
        tenant,
        [
            logdata.activity_row(
                app,
                when - dt.timedelta(seconds=i),
                user=person,
                account=account,
                actor=person.identity if person else "svc@alpha.test",
                ip=ip,
            )
            for i in range(activities)
        ],
    )
    policy = policy or default_policy(tenant)
    finding = Finding(
        subject=f"u:{person.pk}" if person else "n:svc",
        title=title,
        description=description,
        rows=[as_row(row) for row in rows],
        evidence=list(evidence),
        severity=severity,
        key=f"test-{next(_keys)}",
    )
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        raised = raise_alerts(
            policy=policy, findings=[finding], alert_type=alert_type, now=timezone.now()
        )
        [(alert, _)] = raised.created
        return Alert.objects.get(pk=alert.pk)


def directory(tenant, name: str = "Contoso 365", who: str = "bob"):
    """An app, a person and their account there."""
    app = logdata.app(tenant, name)
    person = logdata.person(tenant, f"{who}@{tenant.slug}.test", who.title())
    account = logdata.account(tenant, app, person, username=f"{who}@{tenant.slug}.test")
    return app, person, account
