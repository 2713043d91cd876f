"""Test data of the activity log, users and accounts tests: rows written with the ORM.

Activities go straight into the (day-partitioned) table with `bulk_create`, after
`partitions.ensure_days`, so these tests do not depend on the ingestion pipeline.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from apps.accounts.models import Account, CloudUser, GroupMembership, UserGroup
from apps.activities import partitions
from apps.activities.models import Activity
from apps.connectors.models import AppInstance, Vendor
from apps.tenants.models import Tenant
from apps.tenants.scoping import tenant_context

XSS = "<img src=x onerror=alert(1)>"


def base_time() -> dt.datetime:
    """A recent, round moment (inside every "last 30 days" window)."""
    return dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(
        hours=2
    )


def app(tenant: Tenant, name: str = "Contoso 365", vendor: str = Vendor.OFFICE365) -> AppInstance:
    with tenant_context(tenant):
        return AppInstance.objects.create(vendor=vendor, name=name)


def person(tenant: Tenant, identity: str, name: str = "", **fields) -> CloudUser:
    with tenant_context(tenant):
        return CloudUser.objects.create(
            identity=identity.lower(), email=identity, display_name=name, **fields
        )


def account(tenant: Tenant, app_instance: AppInstance, user: CloudUser | None, **fields):
    values = {"external_id": uuid.uuid4().hex, "username": user.identity if user else "svc"}
    values.update(fields)
    with tenant_context(tenant):
        return Account.objects.create(app_instance=app_instance, user=user, **values)


def group(tenant: Tenant, name: str, members: Iterable[Account] = (), app_instance=None):
    with tenant_context(tenant):
        created = UserGroup.objects.create(
            app_instance=app_instance, external_id=uuid.uuid4().hex, name=name
        )
        for member in members:
            GroupMembership.objects.create(group=created, account=member)
        return created


def activity_row(app_instance: AppInstance, when: dt.datetime, **fields) -> Activity:
    values = {
        "occurred_at": when,
        "ingested_at": min(when, dt.datetime.now(dt.UTC)),
        "app_instance": app_instance,
        "source": "connector",
        "source_event_id": uuid.uuid4().hex,
        "actor": "someone@alpha.test",
        "action_type": "FileDownloaded",
        "activity_type": "download",
        "ip": "192.0.2.10",
        "country": "FR",
        "object_name": "report.xlsx",
        "raw": {"Operation": "FileDownloaded"},
    }
    values.update(fields)
    return Activity(**values)


def add(tenant: Tenant, rows: list[Activity]) -> list[Activity]:
    """Write activity rows of `tenant` (creating their day partitions first)."""
    partitions.forget()  # a rolled-back test may have dropped partitions the cache remembers
    partitions.ensure_days(
        tenant.db_alias, {row.occurred_at.astimezone(dt.UTC).date() for row in rows}
    )
    with tenant_context(tenant):
        Activity.objects.bulk_create(rows, batch_size=2000)
    return rows


def many(tenant: Tenant, app_instance: AppInstance, count: int, **fields) -> list[Activity]:
    """`count` activities, one a second going back from `base_time()` (newest first)."""
    start = base_time()
    rows = [
        activity_row(app_instance, start - dt.timedelta(seconds=i), **fields) for i in range(count)
    ]
    return add(tenant, rows)


def one_per_person(tenant: Tenant, apps: list[AppInstance], count: int, prefix: str) -> list:
    """`count` people, each with an account in one of `apps` (in turn) and one activity there,
    one a second going back from `base_time()`: rows whose app, account and person all differ,
    for the query-count guards."""
    rows = []
    for i in range(count):
        app_instance = apps[i % len(apps)]
        owner = person(tenant, f"{prefix}{i}@alpha.test", f"{prefix.upper()} {i}")
        rows.append(
            activity_row(
                app_instance,
                base_time() - dt.timedelta(seconds=i),
                user=owner,
                account=account(tenant, app_instance, owner),
            )
        )
    return add(tenant, rows)
