"""A tenant's own retention periods: shorter than the deployment's maxima, never longer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.tenants import audit
from apps.tenants.models import Tenant

from . import inventory
from .models import RetentionSettings

SETTINGS_FIELDS = (
    "activities_days",
    "discovery_days",
    "alerts_days",
    "governance_days",
    "files_days",
    "deleted_accounts_days",
)


class RetentionRefused(ValueError):
    """A retention change that breaks a rule (e.g. longer than the deployment maximum)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def ceiling(field: str) -> int:
    """The deployment maximum for one settings field (`<kind>_days` or deleted accounts)."""
    if field == "deleted_accounts_days":
        return int(settings.DELETED_ACCOUNT_RETENTION_DAYS)
    return inventory.max_days(field.removesuffix("_days"))


def own_period(row: RetentionSettings | None, field: str) -> int | None:
    """The tenant's own period of `field` while it is shorter than the deployment maximum, else
    None (the maximum applies). A period saved before the maximum was lowered to or below it is
    kept, so it applies again if the maximum rises, but is neither shown as shortened nor
    offered back to a form or API client, which would be refused as over the maximum."""
    own = getattr(row, field, None) if row is not None else None
    return own if own is not None and own < ceiling(field) else None


def update_settings(
    *, tenant: Tenant, values: dict[str, int | None], actor: Any, request: Any = None
) -> RetentionSettings:
    """Set the tenant's own periods (None: back to the deployment maximum); audited.

    Only the fields in `values` change. A period must be 1..maximum: a tenant may shorten its
    retention, never lengthen it past what the deployment keeps.
    """
    for name, value in values.items():
        if name not in SETTINGS_FIELDS:
            raise RetentionRefused(name, "Unknown retention setting.")
        if value is not None and not 1 <= value <= ceiling(name):
            raise RetentionRefused(
                name, f"Must be between 1 and {ceiling(name)} days (the deployment maximum)."
            )
    alias = tenant.db_alias
    for attempt in (1, 2):
        try:
            with transaction.atomic(using=alias):
                return _save_settings(tenant, alias, values, actor, request)
        except IntegrityError:
            # Two first saves at once: the other one created the row; change that one.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _save_settings(tenant, alias, values, actor, request) -> RetentionSettings:
    row = (
        RetentionSettings.unscoped_objects.using(alias)
        .select_for_update()
        .filter(tenant_id=tenant.id)
        .first()
    ) or RetentionSettings(tenant_id=tenant.id)
    changes = {
        name: [getattr(row, name), value]
        for name, value in values.items()
        if getattr(row, name) != value
    }
    for name, value in values.items():
        setattr(row, name, value)
    row.save(using=alias)
    if changes:  # in the same transaction: no change without its audit record
        audit.record(
            tenant,
            "retention.update",
            actor=actor,
            request=request,
            target=row,
            details=changes,
        )
    return row
