"""Small readers shared by the connector tests (they read the real tables)."""

from __future__ import annotations

from collections import Counter

from apps.activities.models import Activity
from apps.connectors.models import AppInstance, PollCursor
from apps.tenants.scoping import tenant_context


def stored(tenant, instance) -> list[Activity]:
    with tenant_context(tenant):
        return list(Activity.objects.filter(app_instance_id=instance.pk).order_by("occurred_at"))


def stored_ids(tenant, instance) -> Counter:
    """source_event_id -> how many rows hold it (every value must be 1)."""
    return Counter(a.source_event_id for a in stored(tenant, instance))


def cursor(tenant, instance, stream: str) -> dict:
    with tenant_context(tenant):
        row = PollCursor.objects.filter(app_instance=instance, stream=stream).first()
        return dict(row.position) if row else {}


def reload(tenant, instance) -> AppInstance:
    with tenant_context(tenant):
        return AppInstance.objects.get(pk=instance.pk)
