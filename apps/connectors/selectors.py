"""Reads of the connectors app (inside the current tenant's scope)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from . import status
from .adapters import adapter_class, polled_vendors
from .models import AppInstance, PollCursor, StatusChange, Vendor


def instances() -> QuerySet[AppInstance]:
    """The tenant's connected apps, by name. `credentials_sealed` is never loaded: no page
    or answer needs it."""
    return AppInstance.objects.defer("credentials_sealed").order_by("name", "id")


def cursors(instance: AppInstance) -> QuerySet[PollCursor]:
    return PollCursor.objects.filter(app_instance=instance).order_by("stream")


def recent_status(instance: AppInstance, limit: int = 20) -> QuerySet[StatusChange]:
    return StatusChange.objects.filter(app_instance=instance).order_by("-at")[:limit]


@dataclass(frozen=True)
class Row:
    """An instance with its status in words, for the list page and the API."""

    instance: AppInstance
    words: str
    health: str


def rows(queryset) -> list[Row]:
    return [Row(i, status.words(i), status.health(i)) for i in queryset]


def vendor_choices() -> list[tuple[str, str]]:
    labels = dict(Vendor.choices)
    return [(vendor, labels[vendor]) for vendor in polled_vendors()]


def credential_names_set(instance: AppInstance) -> list[str]:
    """Which credential fields hold a value (their names only)."""
    from apps.compliance.crypto import DecryptionError

    try:
        stored = AppInstance.objects.only("credentials_sealed", "tenant_id").get(pk=instance.pk)
        values = stored.credentials()
    except (DecryptionError, AppInstance.DoesNotExist):
        return []
    cls = adapter_class(instance.vendor)
    names = [f.name for f in cls.credential_fields] if cls else []
    return [name for name in names if values.get(name)]


def public_credentials(instance: AppInstance) -> dict[str, str]:
    """The credential fields that are not secret (client ids, organisation names), to show
    and pre-fill; secret fields are never read for display."""
    from apps.compliance.crypto import DecryptionError

    cls = adapter_class(instance.vendor)
    if cls is None:
        return {}
    try:
        stored = AppInstance.objects.only("credentials_sealed", "tenant_id").get(pk=instance.pk)
        values = stored.credentials()
    except (DecryptionError, AppInstance.DoesNotExist):
        return {}
    return {f.name: values.get(f.name, "") for f in cls.credential_fields if not f.secret}
