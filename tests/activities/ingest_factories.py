"""Helpers of the ingestion, enrichment, IP range and push API tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apps.activities.events import EventIn
from apps.activities.models import Activity
from apps.connectors.models import AppInstance, Vendor
from apps.tenants.scoping import tenant_context

# Fixed once per run, so the same event built twice has the same time (its dedupe key).
BASE_TIME = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


def recent(minutes: int = 0) -> datetime:
    """A time well inside the retention window (about an hour ago, minus `minutes`)."""
    return BASE_TIME - timedelta(minutes=minutes)


def event(n: int = 1, **fields) -> EventIn:
    values = {
        "source_event_id": f"evt-{n}",
        "occurred_at": recent(n),
        "action_type": "FileDownloaded",
        "activity_type": "download",
        "actor": "alice@alpha.test",
        "ip": "8.8.8.8",
        "user_agent": (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
        ),
        "object_name": f"report-{n}.xlsx",
        "raw": {"Id": f"evt-{n}"},
    }
    values.update(fields)
    return EventIn(**values)


def make_app(tenant, name: str = "Contoso 365", vendor: str = Vendor.OFFICE365) -> AppInstance:
    with tenant_context(tenant):
        return AppInstance.objects.create(vendor=vendor, name=name)


def activities(tenant, **filters) -> list[Activity]:
    with tenant_context(tenant):
        return list(Activity.objects.filter(**filters).order_by("source_event_id"))
