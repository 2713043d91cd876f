"""CSV exports of the discovery reports (apps, users, IP addresses), streamed.

Needs `Action.EXPORT`; each export is written to the audit log ("discovery.exported", with the
report, period, filters and row count) before any row leaves. The rows are the same aggregated
rows the pages show (one per app, user or address), built before streaming; the CSV text is
written as it is sent. Cells are guarded against formula injection (domains and usernames come
from logs, i.e. from outsiders).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from apps.activities.export import cell, describe_filters
from apps.tenants import audit
from apps.tenants.models import Tenant

from .reports import AppRow, EntityRow
from .selectors import Scope


def _day(value) -> str:
    return value.isoformat() if value else ""


APP_COLUMNS = [
    "app",
    "app_id",
    "category",
    "risk_score",
    "score_overridden",
    "tags",
    "traffic_bytes",
    "upload_bytes",
    "download_bytes",
    "transactions",
    "users",
    "ip_addresses",
    "blocked_transactions",
    "last_seen",
    "app_domains",
    "domains_seen",
]


def app_row(row: AppRow) -> list:
    return [
        row.name,
        row.key,
        row.category_label,
        "" if row.score.total is None else row.score.total,
        row.score.overridden,
        ";".join(tag.name for tag in row.tags),
        row.traffic,
        row.bytes_up,
        row.bytes_down,
        row.transactions,
        row.users,
        row.ips,
        row.blocked,
        _day(row.last_seen),
        ";".join(row.catalog_domains),
        ";".join(d.domain for d in row.totals.domains),
    ]


def _entity_columns(first: str) -> list[str]:
    return [
        first,
        "pseudonymised",
        "apps",
        "transactions",
        "traffic_bytes",
        "upload_bytes",
        "download_bytes",
        "used_sanctioned_apps",
        "used_unsanctioned_apps",
        "last_seen",
    ]


def entity_row(row: EntityRow) -> list:
    return [
        row.name,
        row.pseudonymised,
        row.app_count,
        row.transactions,
        row.traffic,
        row.bytes_up,
        row.bytes_down,
        row.sanctioned,
        row.unsanctioned,
        _day(row.last_seen),
    ]


KINDS: dict[str, tuple[list[str], Callable]] = {
    "apps": (APP_COLUMNS, app_row),
    "users": (_entity_columns("user"), entity_row),
    "ips": (_entity_columns("ip_address"), entity_row),
}


class _Echo:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def lines(kind: str, rows: list) -> Iterator[str]:
    columns, convert = KINDS[kind]
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([cell(value) for value in convert(row)])


def stream(
    kind: str, *, tenant: Tenant, scope: Scope, rows: list, cleaned: dict, request
) -> StreamingHttpResponse:
    """Audit the export of `rows` (apps, users or ips), then stream them as CSV."""
    audit.record(
        tenant,
        "discovery.exported",
        request=request,
        details={
            "what": kind,
            "report": scope.label,
            "report_id": scope.key,
            "period_days": scope.period,
            "filters": describe_filters(cleaned),
            "rows": len(rows),
        },
    )
    response = StreamingHttpResponse(lines(kind, rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    name = f"discovery-{kind}-{tenant.slug}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
