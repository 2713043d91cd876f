"""Report test data: continuous reports fed through the real pipeline, or aggregate rows
written directly (for days and volumes a log line would make slow to build)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from apps.discovery import pipeline, services
from apps.discovery.models import (
    AppDay,
    AppIpDay,
    AppTag,
    AppTagging,
    AppUserDay,
    DataSource,
    Report,
)
from apps.tenants.scoping import tenant_context


def today() -> date:
    return datetime.now(UTC).date()


def continuous(tenant, content: str, *, name: str = "Proxy") -> Report:
    """A data source fed with one upload of Squid lines, processed as the worker would."""
    with tenant_context(tenant):
        source = DataSource.objects.filter(name=name).first()
        if source is None:
            source = services.create_data_source(name=name, log_format="squid_native", actor="t")
        upload = services.upload_to_source(
            data_source=source,
            files=[services.IncomingFile("access.log", [content.encode()])],
            actor="t",
            source="api",
        )
        pipeline.process(upload.pk)
        return Report.objects.get(data_source=source)


def write(
    tenant,
    report: Report,
    *,
    app: str,
    days_ago: int = 0,
    domain: str = "",
    user: str = "",
    ip: str = "10.0.0.1",
    up: int = 0,
    down: int = 0,
    tx: int = 1,
) -> None:
    """One day of one app's traffic in all three aggregates of `report`."""
    day = today() - timedelta(days=days_ago)
    common = {"report": report, "day": day, "app": app, "transactions": tx}
    with tenant_context(tenant):
        AppDay.objects.create(
            **common, domain=domain or f"{app or 'x'}.example", bytes_up=up, bytes_down=down
        )
        AppIpDay.objects.create(**common, ip=ip, bytes_up=up, bytes_down=down)
        if user:
            AppUserDay.objects.create(**common, user=user, bytes_up=up, bytes_down=down)


def tag(tenant, app: str, name: str, kind: str = "custom") -> AppTag:
    with tenant_context(tenant):
        found, _ = AppTag.objects.get_or_create(name=name, defaults={"kind": kind})
        AppTagging.objects.create(app=app, tag=found)
        return found
