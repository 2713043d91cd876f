"""CSV export of a filtered activity view, streamed.

Who may export: `Action.EXPORT`. Security readers may read the log (spec 8.2 lets every role
read activities) but not export it: an export is a bulk copy of personal data leaving the
product, and the role table gives EXPORT to security and global admins only. The console and the
API ask the same question through `apps.tenants.permissions`.

How: the rows are read with a server-side cursor in chunks (`iterator(chunk_size=...)`) and
written to the response as they are read, so memory does not grow with the row count. An export
stops at `ROW_CAP` rows (the reference product's large-export limit, spec 1.5); when it does,
the file's last line says so. Every export is written to the audit log ("activities.exported")
with its filters and row count *before* any row leaves: the count is taken first, and the rows
are bounded to those ingested before the export started so that the count and the file agree
while ingestion keeps writing.

Private activities (spec 1.5/1.6) are never exported, whatever the exporter's permissions and
even while they are revealed to them on the page: `prepare` reads through `privacy.shareable`.
Every file says so in its `X-Private-Activities: excluded` response header and its audit
record; a file exported while private activities were revealed also ends with a notice line.

Cells are guarded against formula injection: a value starting with = + - @ (or a tab or
carriage return) is prefixed with an apostrophe, because app data (object names, user agents)
is chosen by outsiders and a spreadsheet would otherwise run it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from apps.tenants import audit
from apps.tenants.models import Tenant
from apps.tenants.scoping import tenant_context

from . import privacy
from .categories import label as type_label
from .models import Activity, IpCategory

ROW_CAP = 100_000
CHUNK = 2_000
COLUMNS = [
    "id",
    "occurred_at_utc",
    "app",
    "activity_type",
    "action_type",
    "actor",
    "person",
    "account",
    "is_admin",
    "succeeded",
    "ip",
    "country",
    "city",
    "isp",
    "ip_category",
    "ip_tags",
    "device_type",
    "os",
    "browser",
    "user_agent",
    "object_type",
    "object_name",
    "object_id",
    "source",
    "source_event_id",
    "ingested_at_utc",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    """The text of one CSV cell, neutralised if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _iso(moment) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else ""


def row(item: Activity) -> list[str]:
    values = [
        item.id,
        _iso(item.occurred_at),
        item.app_instance.name,
        type_label(item.activity_type),
        item.action_type,
        item.actor,
        item.user.identity if item.user else "",
        (item.account.username or item.account.external_id) if item.account else "",
        item.is_admin,
        item.succeeded,
        item.ip,
        item.country,
        item.city,
        item.isp,
        IpCategory(item.ip_category).label if item.ip_category else "",
        ";".join(str(tag) for tag in item.ip_tags or []),
        item.device_type,
        item.os,
        item.browser,
        item.user_agent,
        item.object_type,
        item.object_name,
        item.object_id,
        item.get_source_display(),
        item.source_event_id,
        _iso(item.ingested_at),
    ]
    return [cell(value) for value in values]


class _Echo:
    """csv.writer writes into this and gets the line back, so lines can be yielded."""

    def write(self, value: str) -> str:
        return value


@dataclass
class Export:
    queryset: QuerySet[Activity]  # filtered, ordered, bounded: exactly the rows of the file
    rows: int  # how many rows the file holds (at most ROW_CAP)
    capped: bool  # True when more rows matched than the cap
    note_private: bool = False  # end the file with the "private activities left out" notice


PRIVATE_NOTICE = (
    "# Private activities (people in activity-privacy groups) are never exported, even while "
    "they are shown in the console."
)


def prepare(queryset: QuerySet[Activity], *, note_private: bool = False) -> Export:
    """Bound `queryset` to what exists now, without private activities, and count it (up to
    the cap, cheaply)."""
    started = timezone.now()
    bounded = (
        privacy.shareable(queryset).filter(ingested_at__lte=started).order_by("-occurred_at", "-id")
    )
    matched = bounded.select_related(None).order_by()[: ROW_CAP + 1].count()
    return Export(bounded[:ROW_CAP], min(matched, ROW_CAP), matched > ROW_CAP, note_private)


def lines(tenant: Tenant, export: Export) -> Iterator[str]:
    """The CSV text, one line at a time, read in chunks from a server-side cursor."""
    writer = csv.writer(_Echo())
    # The response is consumed after the view returned; keep the tenant's scope for any read.
    with tenant_context(tenant):
        yield writer.writerow(COLUMNS)
        for item in export.queryset.iterator(chunk_size=CHUNK):
            yield writer.writerow(row(item))
        if export.capped:
            yield writer.writerow(
                [
                    f"# Export stopped at {ROW_CAP:,} rows, the limit of one export; narrow "
                    "the filters (e.g. the date range) to export the rest."
                ]
            )
        if export.note_private:
            yield writer.writerow([PRIVATE_NOTICE])


def stream(
    *,
    tenant: Tenant,
    queryset: QuerySet[Activity],
    filters: dict,
    actor=None,
    request=None,
    filename_hint: str = "activities",
    note_private: bool = False,
) -> StreamingHttpResponse:
    """Audit the export, then stream it. `queryset` is the scoped, filtered activity set;
    private activities are dropped here whatever it holds. `note_private`: the exporter sees
    private activities on the page, so the file says they were left out."""
    export = prepare(queryset, note_private=note_private)
    audit.record(
        tenant,
        "activities.exported",
        actor=actor,
        request=request,
        details={
            "filters": filters,
            "rows": export.rows,
            "capped": export.capped,
            "private_activities": "excluded",
        },
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(lines(tenant, export), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{filename_hint}-{tenant.slug}-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    response["X-Private-Activities"] = "excluded"
    return response


def describe_filters(cleaned: dict) -> dict:
    """The filters of an export as JSON-safe text for the audit record (empty ones left out)."""
    out = {}
    for name, value in cleaned.items():
        if value in (None, "", [], ()):
            continue
        out[name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    return json.loads(json.dumps(out, default=str))
