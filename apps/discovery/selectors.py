"""Reads of the Cloud Discovery reports: which report and days a page shows, and the totals per
app, per user and per source address over them.

Every total is aggregated in SQL (GROUP BY over the daily aggregates `AppDay`, `AppUserDay`,
`AppIpDay`), so a page costs the same few queries whatever the traffic; what the catalog adds
(names, categories, scores) is joined in Python by `reports.py`, because the catalog lives in
memory, not in the database. Every query goes through the tenant-scoped managers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Sum

from .models import (
    UNRECOGNISED,
    AppDay,
    AppIpDay,
    AppUserDay,
    Report,
    ReportKind,
    Upload,
)

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
GLOBAL = "global"


class NoSuchReport(LookupError):
    """The requested report does not exist in this tenant (another tenant's looks the same)."""


@dataclass(frozen=True)
class Scope:
    """What a report page adds up: one report (or every continuous one) over a day range.

    `since`/`until` are inclusive UTC days; a snapshot report has none (its whole range).
    """

    key: str  # "global" or the report's id, as the `report` parameter takes it
    label: str
    report: Report | None  # None: the global report
    period: int | None  # days, None for a snapshot
    since: date | None
    until: date | None

    @property
    def is_snapshot(self) -> bool:
        return self.report is not None and self.report.kind == ReportKind.SNAPSHOT

    def rows(self, model) -> QuerySet:
        """The scoped daily rows of `model` (AppDay, AppUserDay or AppIpDay) in this scope."""
        queryset = model.objects.all()
        if self.report is None:
            queryset = queryset.filter(report__kind=ReportKind.CONTINUOUS)
        else:
            queryset = queryset.filter(report_id=self.report.pk)
        if self.since is not None:
            queryset = queryset.filter(day__gte=self.since, day__lte=self.until)
        return queryset.order_by()


def today() -> date:
    return datetime.now(UTC).date()


def scope(report: str | None = None, period: int | None = None) -> Scope:
    """The scope of `?report=&period=`: the global report by default, 30 days by default.
    `report` is "global", a report id or a data source id (its continuous report).

    Raises NoSuchReport for an id that is malformed or not one of this tenant's reports.
    """
    period = period or DEFAULT_PERIOD
    until = today()
    since = until - timedelta(days=period - 1)
    if not report or report == GLOBAL:
        return Scope(GLOBAL, "Global report", None, period, since, until)
    try:
        report_id = uuid.UUID(str(report))
    except ValueError:
        raise NoSuchReport(report) from None
    # A data source's id names its continuous report too.
    found = Report.objects.filter(Q(pk=report_id) | Q(data_source_id=report_id)).first()
    if found is None:
        raise NoSuchReport(report)
    if found.kind == ReportKind.SNAPSHOT:
        return Scope(str(found.pk), found.name, found, None, None, None)
    return Scope(str(found.pk), found.name, found, period, since, until)


def report_choices() -> list[dict]:
    """The reports a page can switch to: continuous ones first, then snapshots, newest first."""
    rows = Report.objects.order_by("kind", "-created_at").values("id", "name", "kind")
    return [{"id": str(row["id"]), "name": row["name"], "kind": row["kind"]} for row in rows]


def reports_with_last_upload() -> QuerySet:
    """Every report with the status and end time of its latest upload (one query)."""
    latest = Upload.objects.filter(report=OuterRef("pk")).order_by("-created_at")
    return Report.objects.annotate(
        last_upload_status=Subquery(latest.values("status")[:1]),
        last_upload_at=Subquery(latest.values("finished_at")[:1]),
    ).order_by("kind", "-created_at")


# --- Totals ------------------------------------------------------------------------------------


@dataclass
class DomainTotal:
    """Traffic to one destination domain of an app (or an unrecognised domain)."""

    domain: str
    transactions: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    blocked: int = 0
    last_seen: date | None = None

    @property
    def traffic(self) -> int:
        return self.bytes_up + self.bytes_down


@dataclass
class AppTotal(DomainTotal):
    """One app's totals in a scope; `domain` is unused, `domains` lists what was seen."""

    users: int = 0
    ips: int = 0
    domains: list[DomainTotal] = field(default_factory=list)


def _sums() -> dict:
    return {
        "tx": Sum("transactions"),
        "up": Sum("bytes_up"),
        "down": Sum("bytes_down"),
        "last": Max("day"),
    }


def app_totals(scope: Scope, app: str | None = None) -> dict[str, AppTotal]:
    """Totals per app key (the unrecognised traffic under ""), with distinct users and source
    addresses and the domains seen, busiest first; only `app`'s when given. Three queries."""
    days, users, ips = scope.rows(AppDay), scope.rows(AppUserDay), scope.rows(AppIpDay)
    if app is not None:
        days, users, ips = days.filter(app=app), users.filter(app=app), ips.filter(app=app)
    totals: dict[str, AppTotal] = {}
    for row in days.values("app", "domain").annotate(**_sums(), blk=Sum("blocked")):
        total = totals.get(row["app"])
        if total is None:
            total = totals[row["app"]] = AppTotal(domain="")
        domain = DomainTotal(
            row["domain"], row["tx"], row["up"], row["down"], row["blk"], row["last"]
        )
        total.domains.append(domain)
        total.transactions += domain.transactions
        total.bytes_up += domain.bytes_up
        total.bytes_down += domain.bytes_down
        total.blocked += domain.blocked
        if total.last_seen is None or domain.last_seen > total.last_seen:
            total.last_seen = domain.last_seen
    for queryset, column, attribute in ((users, "user", "users"), (ips, "ip", "ips")):
        for row in queryset.values("app").annotate(n=Count(column, distinct=True)):
            if row["app"] in totals:
                setattr(totals[row["app"]], attribute, row["n"])
    for total in totals.values():
        total.domains.sort(key=lambda d: (-d.traffic, d.domain))
    return totals


def app_totals_for(scope: Scope, app: str) -> AppTotal | None:
    """One app's totals, None when it has no traffic in the scope (three queries)."""
    return app_totals(scope, app).get(app)


@dataclass(frozen=True)
class Overall:
    """Distinct people and addresses over the whole scope (not the sum over apps)."""

    users: int
    ips: int


def overall(scope: Scope) -> Overall:
    users = scope.rows(AppUserDay).aggregate(n=Count("user", distinct=True))["n"]
    ips = scope.rows(AppIpDay).aggregate(n=Count("ip", distinct=True))["n"]
    return Overall(users=users or 0, ips=ips or 0)


@dataclass
class EntityTotal:
    """One user (or pseudonym) or one source address: what it used and how much."""

    name: str
    apps: set[str] = field(default_factory=set)  # app keys, "" for unrecognised traffic
    transactions: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    last_seen: date | None = None

    @property
    def traffic(self) -> int:
        return self.bytes_up + self.bytes_down


def _entities(scope: Scope, model, column: str, app: str | None = None) -> list[EntityTotal]:
    queryset = scope.rows(model)
    if app is not None:
        queryset = queryset.filter(app=app)
    found: dict[str, EntityTotal] = {}
    for row in queryset.values(column, "app").annotate(**_sums()):
        name = row[column]
        entity = found.get(name)
        if entity is None:
            entity = found[name] = EntityTotal(name)
        entity.apps.add(row["app"])
        entity.transactions += row["tx"]
        entity.bytes_up += row["up"]
        entity.bytes_down += row["down"]
        if entity.last_seen is None or row["last"] > entity.last_seen:
            entity.last_seen = row["last"]
    return sorted(found.values(), key=lambda e: (-e.traffic, e.name))


def user_totals(scope: Scope, app: str | None = None) -> list[EntityTotal]:
    """Per user (GROUP BY user, app; one query), busiest first; only `app`'s when given."""
    return _entities(scope, AppUserDay, "user", app)


def ip_totals(scope: Scope, app: str | None = None) -> list[EntityTotal]:
    """Per source address, like `user_totals`."""
    return _entities(scope, AppIpDay, "ip", app)


def app_daily(scope: Scope, app: str) -> list[dict]:
    """One app's traffic per day: [{"day", "tx", "up", "down", "last"}], oldest first."""
    rows = scope.rows(AppDay).filter(app=app).values("day").annotate(**_sums()).order_by("day")
    return list(rows)


def unrecognised(scope: Scope) -> list[DomainTotal]:
    """Traffic to hosts no app claims, per registrable domain, busiest first (one query)."""
    rows = (
        scope.rows(AppDay)
        .filter(app=UNRECOGNISED)
        .values("domain")
        .annotate(**_sums(), blk=Sum("blocked"))
    )
    found = [
        DomainTotal(r["domain"], r["tx"], r["up"], r["down"], r["blk"], r["last"]) for r in rows
    ]
    return sorted(found, key=lambda d: (-d.traffic, d.domain))


def top_entities(scope: Scope, kind: str, limit: int = 10) -> list[dict]:
    """The busiest users (`kind` "user") or source addresses ("ip") by traffic, in SQL:
    [{"name", "traffic", "tx"}]."""
    model, column = (AppUserDay, "user") if kind == "user" else (AppIpDay, "ip")
    rows = (
        scope.rows(model)
        .values(column)
        .annotate(traffic=Sum(F("bytes_up") + F("bytes_down")), tx=Sum("transactions"))
        .order_by("-traffic", column)[:limit]
    )
    return [{"name": r[column], "traffic": r["traffic"], "tx": r["tx"]} for r in rows]
