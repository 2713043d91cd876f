"""CSV export of the filtered alert queue, streamed (console and API alike).

Who may export: `Action.EXPORT` (not readers; an export is a bulk copy of personal data, as for
the activity log). Every export is audited ("alerts.exported", with its filters and row count)
before any row leaves. Rows are read in chunks from a server-side cursor, with their people,
accounts and apps prefetched per chunk, and written as they are read. Cells are guarded
against formula injection like the activity export (titles and evidence carry app data).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from apps.accounts.models import Account
from apps.activities.export import cell
from apps.tenants import audit
from apps.tenants.models import Tenant
from apps.tenants.scoping import tenant_context

from .models import RESOLUTION_REASONS, Alert, Resolution

ROW_CAP = 100_000
CHUNK = 1_000
COLUMNS = [
    "number",
    "id",
    "title",
    "severity",
    "status",
    "resolution",
    "resolution_reason",
    "resolved_at_utc",
    "resolved_by",
    "comment",
    "assignee",
    "read",
    "category",
    "alert_type",
    "policy",
    "people",
    "accounts",
    "apps",
    "ips",
    "trigger_count",
    "first_triggered_at_utc",
    "last_triggered_at_utc",
    "description",
]


def _iso(moment) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


class _Echo:
    """csv.writer writes into this and gets the line back, so lines can be yielded."""

    def write(self, value: str) -> str:
        return value


def _reason_label(item: Alert) -> str:
    return RESOLUTION_REASONS.get(item.resolution, {}).get(
        item.resolution_reason, item.resolution_reason
    )


def row(item: Alert) -> list[str]:
    values = [
        item.number,
        item.id,
        item.title,
        item.get_severity_display(),
        item.get_status_display(),
        Resolution(item.resolution).label if item.resolution else "",
        _reason_label(item),
        _iso(item.resolved_at),
        item.resolved_by_label,
        item.comment,
        item.assignee_label,
        item.read,
        item.get_category_display(),
        item.get_alert_type_display(),
        item.policy_name,
        ";".join(u.identity for u in item.users.all()),
        ";".join(f"{a.app_instance.name}:{a}" for a in item.accounts.all()),
        ";".join(a.name for a in item.apps.all()),
        ";".join(str(ip) for ip in item.ips or []),
        item.trigger_count,
        _iso(item.first_triggered_at),
        _iso(item.last_triggered_at),
        item.description,
    ]
    return [cell(value) for value in values]


@dataclass
class Export:
    queryset: QuerySet[Alert]
    rows: int
    capped: bool


def prepare(queryset: QuerySet[Alert]) -> Export:
    """Bound `queryset` to the alerts that exist now (numbers only grow) and count it."""
    started = timezone.now()
    bounded = queryset.filter(created_at__lte=started).prefetch_related(
        Prefetch("accounts", queryset=Account.objects.select_related("app_instance"))
    )
    matched = bounded.order_by()[: ROW_CAP + 1].count()
    return Export(bounded[:ROW_CAP], min(matched, ROW_CAP), matched > ROW_CAP)


def lines(tenant: Tenant, export: Export) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # The response is consumed after the view returned; keep the tenant's scope for any read.
    with tenant_context(tenant):
        yield writer.writerow(COLUMNS)
        for item in export.queryset.iterator(chunk_size=CHUNK):
            yield writer.writerow(row(item))
        if export.capped:
            yield writer.writerow(
                [f"# Export stopped at {ROW_CAP:,} rows; narrow the filters to export the rest."]
            )


def stream(
    *, tenant: Tenant, queryset: QuerySet[Alert], filters: dict, actor=None, request=None
) -> StreamingHttpResponse:
    """Audit the export, then stream it. `queryset` is the scoped, filtered, ordered queue."""
    export = prepare(queryset)
    audit.record(
        tenant,
        "alerts.exported",
        actor=actor,
        request=request,
        details={"filters": filters, "rows": export.rows, "capped": export.capped},
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(lines(tenant, export), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="alerts-{tenant.slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
