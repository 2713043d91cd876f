"""What tenant data we hold, where, and for how long: the one list the lifecycle code reads.

- `KINDS`: the data kinds with a retention period (spec 9.3), the models each covers and the
  time field retention ages them by (with a fallback field where that one may be empty: a file
  record never scanned ages by when it was first seen). The retention purge, the retention page
  and the data location page read it.
- `tenant_models()`: every model holding a tenant's rows, in every database; offboarding deletes
  through it and its test proves no row is left.
- `max_days()` / `effective_days()`: the deployment maximum and a tenant's own period.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import models

from apps.tenants.models import TenantOwnedModel

from .models import DataKind, RetentionSettings


@dataclass(frozen=True)
class Kind:
    key: str  # a DataKind value
    label: str
    models: tuple[str, ...]  # "app_label.Model", parents before children they hold
    age_field: dict[str, str]  # model -> the field its age is measured by
    setting: str  # the deployment maximum's setting name
    description: str
    # model -> the field that stands in where the age field is empty (a file never scanned)
    age_fallback: dict[str, str] = field(default_factory=dict)


KINDS: dict[str, Kind] = {
    DataKind.ACTIVITIES: Kind(
        key=DataKind.ACTIVITIES,
        label="Activity log",
        # The detections' memories are derived from activities and go with them (a memory
        # ages by when an activity last changed it).
        models=("activities.Activity", "alerts.DetectorState", "alerts.MatchWindow"),
        age_field={
            "activities.Activity": "occurred_at",
            "alerts.DetectorState": "updated_at",
            "alerts.MatchWindow": "updated_at",
        },
        setting="ACTIVITY_RETENTION_DAYS",
        description="Activities from connected apps, with their IP, location and device, and "
        "what anomaly detections remember of each person's recent places and times.",
    ),
    DataKind.DISCOVERY: Kind(
        key=DataKind.DISCOVERY,
        label="Discovery data",
        models=(
            "discovery.AppDay",
            "discovery.AppUserDay",
            "discovery.AppIpDay",
            "discovery.Upload",
        ),
        age_field={
            "discovery.AppDay": "day",
            "discovery.AppUserDay": "day",
            "discovery.AppIpDay": "day",
            "discovery.Upload": "created_at",
        },
        setting="DISCOVERY_MAX_AGE_DAYS",
        description="Daily usage of discovered apps per app, user and IP, and log uploads.",
    ),
    DataKind.ALERTS: Kind(
        key=DataKind.ALERTS,
        label="Alerts",
        models=(
            "alerts.AlertActivity",
            "alerts.AlertUser",
            "alerts.AlertAccount",
            "alerts.AlertApp",
            "alerts.Alert",
            "alerts.PolicyDay",
        ),
        age_field={
            "alerts.Alert": "last_triggered_at",
            "alerts.PolicyDay": "day",
        },
        setting="ALERT_RETENTION_DAYS",
        description="Alerts raised by policies and detections, with the people, apps and "
        "activities they name.",
    ),
    DataKind.GOVERNANCE: Kind(
        key=DataKind.GOVERNANCE,
        label="Governance log",
        models=("governance.GovernanceAction",),
        age_field={"governance.GovernanceAction": "created_at"},
        setting="GOVERNANCE_RETENTION_DAYS",
        description="Governance actions taken on accounts, files and apps, and their outcome.",
    ),
    DataKind.FILES: Kind(
        key=DataKind.FILES,
        label="File records",
        models=("dlp.Match", "dlp.FileRecord"),
        age_field={"dlp.FileRecord": "scanned_at"},
        age_fallback={"dlp.FileRecord": "first_seen_at"},
        setting="FILE_RETENTION_DAYS",
        description="Files content inspection scanned: name, owner, location, sharing and scan "
        "result, and the sensitive types found with masked samples (never the content).",
    ),
}


def max_days(kind: str) -> int:
    """The deployment's retention maximum for `kind`, in days."""
    return int(getattr(settings, KINDS[kind].setting))


def effective_days(kind: str, retention: RetentionSettings | None) -> int:
    """The tenant's period for `kind`: its own when set (never above the maximum)."""
    ceiling = max_days(kind)
    own = getattr(retention, f"{kind}_days", None) if retention is not None else None
    return min(own, ceiling) if own else ceiling


def retention_days(kind: str) -> int:
    """The current tenant's period for `kind` (ingestion refuses what is already past it)."""
    return effective_days(kind, RetentionSettings.objects.first())


def deleted_accounts_days(retention: RetentionSettings | None) -> int:
    ceiling = settings.DELETED_ACCOUNT_RETENTION_DAYS
    own = retention.deleted_accounts_days if retention is not None else None
    return min(own, ceiling) if own else ceiling


def model(label: str) -> type[models.Model]:
    return apps.get_model(label)


def tenant_models() -> list[type[models.Model]]:
    """Every concrete model holding tenant data in a geo database (TenantOwnedModel subclasses)."""
    return [
        m
        for m in apps.get_models()
        if issubclass(m, TenantOwnedModel) and not m._meta.abstract and not m._meta.proxy
    ]
