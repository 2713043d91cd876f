"""Reads of retention: each kind's period and oldest record, the purge records, what is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from apps.accounts.models import Account, AccountStatus
from apps.activities import partitions
from apps.tenants.models import Tenant

from . import inventory
from .models import DataKind, PurgeRun, RetentionSettings
from .retention import cutoff_for, due_filters, tenants_by_alias, utc_day
from .retention_settings import own_period


@dataclass(frozen=True)
class KindPeriod:
    """One data kind as the retention page shows it."""

    key: str
    label: str
    description: str
    field: str  # the RetentionSettings field
    days: int  # what applies: the tenant's own period or the maximum
    own: int | None  # the tenant's own period while shorter than the maximum, else None
    maximum: int
    oldest: datetime | None  # the tenant's oldest record of this kind


def settings_of_current() -> RetentionSettings | None:
    """The current tenant's retention settings row (None: every period at the maximum)."""
    return RetentionSettings.objects.first()


def _as_datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=UTC)


def oldest(kind: str) -> datetime | None:
    """The current tenant's oldest record of `kind` (one indexed query per table)."""
    found = []
    fallback = inventory.KINDS[kind].age_fallback
    for label, age in inventory.KINDS[kind].age_field.items():
        rows = inventory.model(label).objects
        if label in fallback:
            # The rows with an age field sort by it; those without by the fallback.
            oldest_pair = [
                rows.exclude(**{age: None}).order_by(age).values_list(age, flat=True).first(),
                rows.filter(**{age: None})
                .order_by(fallback[label])
                .values_list(fallback[label], flat=True)
                .first(),
            ]
            first = min((v for v in oldest_pair if v is not None), default=None)
        else:
            first = rows.order_by(age).values_list(age, flat=True).first()
        if first is not None:
            found.append(_as_datetime(first))
    return min(found) if found else None


def oldest_deleted_account() -> datetime | None:
    """When the deletion of the current tenant's oldest account still waiting for removal was
    seen (the cleanup removes an account that many days after it)."""
    return (
        Account.objects.filter(status=AccountStatus.DELETED, deleted_seen_at__isnull=False)
        .order_by("deleted_seen_at")
        .values_list("deleted_seen_at", flat=True)
        .first()
    )


def periods(retention: RetentionSettings | None) -> list[KindPeriod]:
    """Every kind of the current tenant with its period and oldest record."""
    rows = [
        KindPeriod(
            key=kind.key,
            label=kind.label,
            description=kind.description,
            field=f"{kind.key}_days",
            days=inventory.effective_days(kind.key, retention),
            own=own_period(retention, f"{kind.key}_days"),
            maximum=inventory.max_days(kind.key),
            oldest=oldest(kind.key),
        )
        for kind in inventory.KINDS.values()
    ]
    rows.append(
        KindPeriod(
            key="accounts",
            label="Deleted accounts",
            description="Our copy of an account deleted in its app (profile, memberships, "
            "personal fields), counted from when the deletion was seen.",
            field="deleted_accounts_days",
            days=inventory.deleted_accounts_days(retention),
            own=own_period(retention, "deleted_accounts_days"),
            maximum=int(settings.DELETED_ACCOUNT_RETENTION_DAYS),
            oldest=oldest_deleted_account(),
        )
    )
    return rows


def recent_runs(limit: int = 20) -> list[PurgeRun]:
    """The current tenant's newest purge records."""
    return list(PurgeRun.objects.order_by("-started_at")[:limit])


# --- Dry run (manage.py purge_retention --dry-run) ---------------------------------------------


def _count_due(alias: str, tenant: Tenant, retention, kind: str, now: datetime) -> int:
    cutoff = cutoff_for(kind, retention, now)
    tables = due_filters(kind, cutoff)
    if kind == DataKind.ACTIVITIES:
        tables = [("activities.Activity", {"occurred_at__lt": cutoff}), *tables]
    return sum(
        inventory.model(label)
        .unscoped_objects.using(alias)
        .filter(tenant_id=tenant.id, **filters)
        .count()
        for label, filters in tables
    )


def due(*, now: datetime | None = None) -> list[dict]:
    """What a purge would remove now: partitions to drop per database, rows per tenant and kind
    (activities: every due row, including those in the partitions to drop).

    Counts, never deletes; on a big activity table the counts take a while (they read what
    is due), which is why only the operator's dry run asks.
    """
    now = now or timezone.now()
    deployment = now - timedelta(days=inventory.max_days(DataKind.ACTIVITIES))
    lines: list[dict] = []
    for alias, tenants in tenants_by_alias().items():
        drops = partitions.days_before(alias, utc_day(deployment))
        if drops:
            lines.append(
                {"database": alias, "partitions": [partitions.partition_name(d) for d in drops]}
            )
        for tenant, retention in tenants:
            counts = {
                kind: _count_due(alias, tenant, retention, kind, now) for kind in inventory.KINDS
            }
            lines.append({"database": alias, "tenant": tenant.slug, "due": counts})
    return lines
