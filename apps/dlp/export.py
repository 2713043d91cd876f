"""CSV export of the filtered Files list, streamed (rows are written as they are read).

Needs `Action.EXPORT`; each export is written to the audit log with its filters and row count
before any row leaves. The columns are the list's: metadata, status, verdict, match counts and
type keys, matched policy names; never match evidence or context. Cells are guarded against
formula injection (file names and owners come from the apps, chosen by outsiders).
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

from . import selectors
from .models import FileRecord

ROW_CAP = 100_000
CHUNK = 2_000
COLUMNS = [
    "id",
    "name",
    "app",
    "source",
    "owner",
    "file_type",
    "extension",
    "size_bytes",
    "access_level",
    "quarantined",
    "status",
    "verdict",
    "matches",
    "sensitive_types",
    "matched_policies",
    "scanned_at_utc",
]


def _iso(moment) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def row(item: FileRecord, policy_names: dict[str, str]) -> list[str]:
    values = [
        item.id,
        item.name,
        item.app_instance.name if item.app_instance else "",
        item.get_source_display(),
        item.owner,
        item.get_file_type_display(),
        item.extension,
        item.size,
        item.get_access_level_display(),
        item.quarantined,
        item.status_text,
        item.get_verdict_display() if item.verdict else "",
        item.match_count,
        " ".join(item.matched_types or []),
        "; ".join(policy_names.get(pk, pk) for pk in item.matched_policies or []),
        _iso(item.scanned_at),
    ]
    return [cell(value) for value in values]


class _Echo:
    def write(self, value: str) -> str:
        return value


def lines(tenant: Tenant, queryset: QuerySet[FileRecord], capped: bool) -> Iterator[str]:
    writer = csv.writer(_Echo())
    with tenant_context(tenant):  # the response is read after the view returned
        names = dict(selectors.file_policy_choices())
        yield writer.writerow(COLUMNS)
        for item in queryset.iterator(chunk_size=CHUNK):
            yield writer.writerow(row(item, names))
        if capped:
            yield writer.writerow(
                [f"# Export stopped at {ROW_CAP:,} rows; narrow the filters to export the rest."]
            )


def stream(
    *, tenant: Tenant, queryset: QuerySet[FileRecord], cleaned: dict, request
) -> StreamingHttpResponse:
    """Audit the export, then stream it. `queryset` is the scoped, filtered list."""
    started = timezone.now()
    matched = queryset.order_by().values("pk")[: ROW_CAP + 1].count()
    audit.record(
        tenant,
        "files.exported",
        request=request,
        details={
            "filters": describe_filters(cleaned),
            "rows": min(matched, ROW_CAP),
            "capped": matched > ROW_CAP,
        },
    )
    response = StreamingHttpResponse(
        lines(tenant, queryset[:ROW_CAP], matched > ROW_CAP),
        content_type="text/csv; charset=utf-8",
    )
    stamp = started.strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="files-{tenant.slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
