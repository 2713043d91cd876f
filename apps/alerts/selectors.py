"""Reads of the alert queue: the scoped querysets, one alert with its links, the activities it
links (in the partitioned activity table), its triage history, and a person's alerts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from apps.accounts.models import Account, CloudUser
from apps.activities import selectors as activity_selectors
from apps.activities.models import Activity
from apps.connectors.models import AppInstance
from apps.tenants.models import AuditEvent

from .models import OPEN_STATUSES, Alert, AlertActivity, PolicyKind, Severity

ACTIVITIES_SHOWN = AlertActivity.MAX_PER_ALERT  # every stored link (they are bounded)
HISTORY_SHOWN = 100


def alerts() -> QuerySet[Alert]:
    """The current tenant's alerts with the people and apps every list shows: two more queries
    whatever the page size."""
    return Alert.objects.prefetch_related(
        Prefetch("users", queryset=CloudUser.objects.only("id", "identity", "display_name")),
        Prefetch("apps", queryset=AppInstance.objects.only("id", "name", "vendor")),
    )


def queue() -> QuerySet[Alert]:
    """`alerts()` in queue order: most recently triggered first."""
    return alerts().order_by("-last_triggered_at", "-number")


def alert(alert_id: uuid.UUID) -> Alert:
    """One alert of the current tenant with its policy, people, accounts and apps, or 404 (the
    same for another tenant's)."""
    queryset = Alert.objects.select_related("policy").prefetch_related(
        "users",
        Prefetch("accounts", queryset=Account.objects.select_related("app_instance")),
        "apps",
    )
    return get_object_or_404(queryset, pk=alert_id)


@dataclass
class LinkedActivities:
    rows: list[Activity]
    linked: int  # links stored (at most AlertActivity.MAX_PER_ALERT), hidden private ones aside
    missing: int  # linked activities no longer in the log (retention purged them)
    private: int = 0  # linked activities hidden because they are private (spec 1.6); not for
    # pages: telling a reader how many are hidden is itself a leak


def linked_activities(
    item: Alert, limit: int = ACTIVITIES_SHOWN, *, include_private: bool = False
) -> LinkedActivities:
    """The activities an alert links, newest first. The activity table is partitioned by day,
    so they are looked up by id *and* the time range the links span: only those days' partitions
    are read. Private activities still raise alerts but are left out here unless the reader
    revealed them (`include_private`); they are counted apart, not as purged."""
    links = list(
        AlertActivity.objects.filter(alert=item)
        .order_by("-occurred_at")
        .values_list("activity_id", "occurred_at")[: AlertActivity.MAX_PER_ALERT]
    )
    if not links:
        return LinkedActivities([], 0, 0)
    ids = [activity_id for activity_id, _ in links]
    times = [when for _, when in links]
    span = {"id__in": ids, "occurred_at__gte": min(times), "occurred_at__lte": max(times)}
    found = activity_selectors.activity_list(include_private=include_private).filter(**span)
    rows = list(found.order_by("-occurred_at", "-id")[:limit])
    present = len(rows) if len(rows) < limit else found.count()
    hidden = 0
    if present < len(links) and not include_private:
        # Only when some links did not show: tell hidden private rows from purged ones.
        hidden = Activity.objects.filter(is_private=True, **span).count()
    return LinkedActivities(rows, len(links) - hidden, len(links) - present - hidden, hidden)


def activity_log_url(tenant_slug: str, item: Alert, people: list[CloudUser]) -> str:
    """The activity log around the alert: its person (when it is about one) and the UTC days
    from its first to its last trigger."""
    filters: dict = {
        "date_from": item.first_triggered_at.date().isoformat(),
        "date_to": item.last_triggered_at.date().isoformat(),
    }
    if len(people) == 1:
        filters["user"] = people[0].pk
    return activity_selectors.log_url(tenant_slug, **filters)


def policy_url(tenant_slug: str, item: Alert) -> str | None:
    """The page of the alert's policy (an anomaly detection's settings page for detections)."""
    if item.policy_id is None:
        return None
    name = {
        PolicyKind.ANOMALY: "policies:detection",
        PolicyKind.FILE: "file_policies:detail",
    }.get(item.policy.kind, "policies:detail")
    try:
        return reverse(name, args=[tenant_slug, item.policy_id])
    except NoReverseMatch:  # the policy pages are another module's; never break the alert
        return None


def history(item: Alert) -> list[AuditEvent]:
    """The alert's triage changes, newest first, from the audit log (`alert.*` events are
    found through the audit index on object type and id)."""
    return list(
        AuditEvent.objects.filter(
            action__startswith="alert.", object_type="alerts.alert", object_id=str(item.pk)
        ).order_by("-seq")[:HISTORY_SHOWN]
    )


def queue_url(tenant_slug: str, **filters) -> str:
    """The queue filtered on `filters` (an empty `open` shows open and closed alerts)."""
    url = reverse("alerts:list", args=[tenant_slug])
    params = {k: str(v) for k, v in filters.items() if v is not None}
    return f"{url}?{urlencode(params)}" if params else url


# --- A person's alerts (entity page) ------------------------------------------------------------


@dataclass
class PersonAlerts:
    rows: list[Alert]  # open ones first, then the most recent closed ones
    open_count: int
    total: int
    open_by_severity: list[tuple[str, int]]  # (label, count), high first, non-zero only


def person_alerts(user_id: uuid.UUID, limit: int = 10) -> PersonAlerts:
    mine = Alert.objects.filter(users__id=user_id)
    is_open = Q(status__in=OPEN_STATUSES)
    rows = list(
        mine.annotate(
            closed=Case(When(is_open, then=Value(0)), default=Value(1), output_field=IntegerField())
        ).order_by("closed", "-severity", "-last_triggered_at", "-number")[:limit]
    )
    counts = mine.aggregate(
        total=Count("id"),
        open=Count("id", filter=is_open),
        **{
            f"s{value}": Count("id", filter=is_open & Q(severity=value))
            for value in Severity.values
        },
    )
    by_severity = [
        (Severity(value).label, counts[f"s{value}"])
        for value in reversed(Severity.values)
        if counts[f"s{value}"]
    ]
    return PersonAlerts(rows, counts["open"], counts["total"], by_severity)
