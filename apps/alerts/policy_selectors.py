"""Reads of policies for the console and the API (call inside the tenant's context)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.models import UserGroup
from apps.activities.models import Activity
from apps.activities.privacy import shareable
from apps.activities.query import compile_filters
from apps.governance.models import GovernanceKind

from .detectors import all_detectors
from .models import Alert, MatchMode, Policy, PolicyDay, PolicyKind

RECENT_DAYS = 7
PREVIEW_CAP = 10_000


def with_recent_alerts(policies: QuerySet) -> QuerySet:
    """Annotate `alerts_7d`: alerts raised in the last 7 UTC days (today included)."""
    since = timezone.now().date() - dt.timedelta(days=RECENT_DAYS - 1)
    per_policy = (
        PolicyDay.objects.filter(policy=OuterRef("pk"), day__gte=since)
        .values("policy")
        .annotate(total=Sum("alerts"))
        .values("total")
    )
    return policies.annotate(
        alerts_7d=Coalesce(Subquery(per_policy, output_field=IntegerField()), Value(0))
    )


def policies(kind: str | None = None) -> QuerySet:
    queryset = Policy.objects.order_by("kind", "name")
    if kind:
        queryset = queryset.filter(kind=kind)
    return with_recent_alerts(queryset)


def activity_policies() -> QuerySet:
    return policies(PolicyKind.ACTIVITY)


def detections() -> QuerySet:
    return policies(PolicyKind.ANOMALY)


def match_words(policy: Policy) -> str:
    """ "Single activity" or "51 within 1 min, per user, per app"."""
    if policy.mode != MatchMode.REPEATED:
        return "Single activity"
    minutes = policy.repeat_window_minutes
    window = f"{minutes // 60} h" if minutes % 60 == 0 and minutes >= 60 else f"{minutes} min"
    parts = [f"{policy.repeat_count} within {window}"]
    parts.append("per user" if policy.repeat_per_user else "all users together")
    if policy.repeat_per_app:
        parts.append("per app")
    return ", ".join(parts)


def group_choices() -> list[tuple[str, str]]:
    """(id, "name (app)") of the tenant's user groups: every app has its own 'Engineering'."""
    rows = UserGroup.objects.select_related("app_instance").order_by("name", "app_instance__name")
    return [
        (str(g.pk), f"{g.name} ({g.app_instance.name if g.app_instance else 'built-in'})")
        for g in rows
    ]


def group_labels(ids: Iterable[str]) -> list[str]:
    """Labels of the given groups, in the order given; a deleted group says so."""
    ids = [str(i) for i in ids]
    if not ids:
        return []
    found = {
        str(g.pk): f"{g.name} ({g.app_instance.name if g.app_instance else 'built-in'})"
        for g in UserGroup.objects.select_related("app_instance").filter(pk__in=ids)
    }
    return [found.get(i, "a deleted group") for i in ids]


def governance_labels(kinds: Iterable[str]) -> list[str]:
    labels = dict(GovernanceKind.choices)
    return [labels.get(kind, kind) for kind in kinds]


def detector_of(policy: Policy):
    """The detection class behind an anomaly policy (None if this version lacks it)."""
    return all_detectors().get(policy.detector)


def recent_alerts(policy: Policy, limit: int = 10) -> list[Alert]:
    return list(Alert.objects.filter(policy=policy).order_by("-last_triggered_at")[:limit])


def days(policy: Policy) -> list[PolicyDay]:
    since = timezone.now().date() - dt.timedelta(days=RECENT_DAYS - 1)
    return list(PolicyDay.objects.filter(policy=policy, day__gte=since).order_by("-day"))


def preview_count(filters: dict, *, using: str) -> tuple[int, bool]:
    """(activities of the last 7 days the filters match, True when there are more than the cap).

    The filters must have passed `policy_services.check_filters`.
    """
    since = timezone.now() - dt.timedelta(days=RECENT_DAYS)
    # Private activities are not counted: the preview must not tell whether a person in a
    # privacy group did something.
    matching = shareable(
        Activity.objects.filter(compile_filters(filters, using=using), occurred_at__gte=since)
    )
    count = matching.values("pk")[: PREVIEW_CAP + 1].count()
    return min(count, PREVIEW_CAP), count > PREVIEW_CAP
