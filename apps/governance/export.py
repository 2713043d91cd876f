"""CSV export of the filtered governance log, streamed (rows are written as they are read).

Needs `Action.EXPORT`, like every bulk export; each export is written to the audit log with its
filters and row count before any row leaves. Cells are guarded against formula injection with
the activity export's `cell` (target names come from the apps, chosen by outsiders).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from apps.activities.export import cell, describe_filters
from apps.tenants import audit
from apps.tenants.models import Tenant
from apps.tenants.scoping import tenant_context

from .models import GovernanceAction

ROW_CAP = 100_000
CHUNK = 2_000
COLUMNS = [
    "id",
    "requested_at_utc",
    "action",
    "target_type",
    "target",
    "target_id",
    "app",
    "initiated_by",
    "source",
    "alert",
    "status",
    "attempts",
    "error",
    "result",
    "started_at_utc",
    "finished_at_utc",
    "comment",
]


def _iso(moment) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def row(item: GovernanceAction) -> list[str]:
    values = [
        item.id,
        _iso(item.created_at),
        item.get_kind_display(),
        item.get_target_type_display(),
        item.target_label,
        item.target_ref,
        item.app_instance.name if item.app_instance else "",
        item.initiated_by_label,
        item.get_source_display(),
        f"#{item.alert.number}" if item.alert else "",
        item.get_status_display(),
        item.attempts,
        item.error,
        item.result,
        _iso(item.started_at),
        _iso(item.finished_at),
        item.comment,
    ]
    return [cell(value) for value in values]


class _Echo:
    def write(self, value: str) -> str:
        return value


def lines(tenant: Tenant, queryset: QuerySet[GovernanceAction], capped: bool) -> Iterator[str]:
    writer = csv.writer(_Echo())
    with tenant_context(tenant):  # the response is read after the view returned
        yield writer.writerow(COLUMNS)
        for item in queryset.iterator(chunk_size=CHUNK):
            yield writer.writerow(row(item))
        if capped:
            yield writer.writerow(
                [f"# Export stopped at {ROW_CAP:,} rows; narrow the filters to export the rest."]
            )


def stream(
    *, tenant: Tenant, queryset: QuerySet[GovernanceAction], cleaned: dict, request
) -> StreamingHttpResponse:
    """Audit the export, then stream it. `queryset` is the scoped, filtered log."""
    started = timezone.now()
    bounded = queryset.filter(created_at__lte=started)
    matched = bounded.order_by().values("pk")[: ROW_CAP + 1].count()
    audit.record(
        tenant,
        "governance.exported",
        request=request,
        details={
            "filters": describe_filters(cleaned),
            "rows": min(matched, ROW_CAP),
            "capped": matched > ROW_CAP,
        },
    )
    response = StreamingHttpResponse(
        lines(tenant, bounded[:ROW_CAP], matched > ROW_CAP),
        content_type="text/csv; charset=utf-8",
    )
    stamp = started.strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="governance-{tenant.slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
