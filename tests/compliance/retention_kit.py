"""Test data of the retention tests: rows of every kind at a chosen age, written with the ORM."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from apps.alerts.models import PolicyDay
from apps.compliance.models import PurgeRun, RetentionSettings
from apps.discovery.models import AppDay, AppIpDay, AppUserDay, Report, Upload, UploadStatus
from apps.governance.models import GovernanceAction
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.alerts import alertdata
from tests.governance.helpers import logged


def ago(days: float, now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(days=days)


def activities(tenant, app, days_ago: float, count: int, now=None) -> list:
    """`count` activities of `tenant`, `days_ago` days old (a minute apart, same day)."""
    when = ago(days_ago, now).replace(hour=12, minute=0, second=0, microsecond=0)
    return logdata.add(
        tenant,
        [logdata.activity_row(app, when - dt.timedelta(minutes=i)) for i in range(count)],
    )


def activity_count(tenant) -> int:
    from apps.activities.models import Activity

    with tenant_context(tenant):
        return Activity.objects.count()


def own_periods(tenant, **days) -> None:
    with tenant_context(tenant):
        RetentionSettings.objects.update_or_create(tenant_id=tenant.id, defaults=days)


def runs(tenant, **filters) -> list[PurgeRun]:
    with tenant_context(tenant):
        return list(PurgeRun.objects.filter(**filters).order_by("started_at"))


def discovery(tenant, days_ago: float, uploads: tuple[str, ...] = (UploadStatus.DONE,)):
    """One day of discovery aggregates `days_ago` old (one row per table) and uploads."""
    day = ago(days_ago).date()
    with tenant_context(tenant):
        report = Report.objects.create(name=f"r{uuid.uuid4().hex[:6]}", kind="snapshot")
        AppDay.objects.create(report=report, day=day, app="box", domain="box.com")
        AppUserDay.objects.create(report=report, day=day, app="box", user="bob")
        AppIpDay.objects.create(report=report, day=day, app="box", ip="192.0.2.1")
        made = [Upload.objects.create(report=report, status=s, source="console") for s in uploads]
        Upload.objects.filter(pk__in=[u.pk for u in made]).update(created_at=ago(days_ago))
    return report


def discovery_counts(tenant) -> dict[str, int]:
    with tenant_context(tenant):
        return {
            "days": AppDay.objects.count() + AppUserDay.objects.count() + AppIpDay.objects.count(),
            "uploads": Upload.objects.count(),
        }


def alert(tenant, days_ago: float):
    """A real alert (with its person, account, app and activity links) last triggered then."""
    tag = uuid.uuid4().hex[:6]
    app, person, account = alertdata.directory(tenant, name=f"App {tag}", who=f"p{tag}")
    raised = alertdata.make_alert(tenant, app=app, person=person, account=account)
    with tenant_context(tenant):
        type(raised).objects.filter(pk=raised.pk).update(last_triggered_at=ago(days_ago))
        PolicyDay.objects.update_or_create(
            policy=raised.policy, day=ago(days_ago).date(), defaults={"alerts": 1}
        )
    return raised, app, account


def governance(tenant, app, account, days_ago: float, status: str, **fields) -> GovernanceAction:
    return logged(tenant, app, account, status=status, created_at=ago(days_ago), **fields)
