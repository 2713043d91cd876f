"""Reads of file policies for the console and the API (call inside the tenant's context)."""

from __future__ import annotations

from django.db import connections
from django.db.models import QuerySet

from apps.alerts.models import Alert, Policy, PolicyKind
from apps.alerts.policy_selectors import with_recent_alerts
from apps.connectors.models import AppInstance
from apps.governance.models import GovernanceKind

from .models import AccessLevel, FileRecord, FileSource, FileType
from .policy_checks import type_choices

MATCHING_SHOWN = 50


def file_policies() -> QuerySet:
    """The tenant's file policies with `alerts_7d`, by name."""
    return with_recent_alerts(Policy.objects.filter(kind=PolicyKind.FILE).order_by("name"))


def matching_files(policy: Policy) -> QuerySet:
    """Files whose last scan matched the policy ("matching now"), most recent first."""
    key = str(policy.pk)
    if connections[FileRecord.objects.db].vendor == "postgresql":
        files = FileRecord.objects.filter(matched_policies__contains=[key])
    else:  # SQLite has no JSON containment; ids are UUIDs, so text search is exact enough
        files = FileRecord.objects.filter(matched_policies__icontains=key)
    return files.select_related("app_instance").order_by("-scanned_at", "name")


def recent_alerts(policy: Policy, limit: int = 20) -> list[Alert]:
    return list(Alert.objects.filter(policy=policy).order_by("-last_triggered_at")[:limit])


def conditions(policy: Policy) -> list[tuple[str, str]]:
    """The policy's conditions in words, for the detail page ([] when it matches every file)."""
    f = policy.filters or {}
    rows = []
    if f.get("sensitive_types"):
        labels = dict(type_choices())
        names = ", ".join(labels.get(k, f"{k} (no longer defined)") for k in f["sensitive_types"])
        rows.append(("Content holds", f"{names}: at least {f.get('min_matches', 1)} in all"))
    if f.get("file_types"):
        rows.append(("File type", ", ".join(FileType(v).label for v in f["file_types"])))
    if f.get("extensions"):
        rows.append(("Extension", ", ".join(f".{e}" for e in f["extensions"])))
    if f.get("apps"):
        names = dict(
            (str(pk), name)
            for pk, name in AppInstance.objects.filter(pk__in=f["apps"]).values_list("pk", "name")
        )
        rows.append(("App", ", ".join(names.get(a, "a removed app") for a in f["apps"])))
    if f.get("access_levels"):
        rows.append(("Access level", ", ".join(AccessLevel(v).label for v in f["access_levels"])))
    if f.get("sources"):
        rows.append(("Seen through", ", ".join(FileSource(v).label for v in f["sources"])))
    if f.get("name_contains"):
        rows.append(("File name contains", f["name_contains"]))
    return rows


def action_words(policy: Policy) -> list[str]:
    tuning = policy.tuning or {}
    words = []
    if tuning.get("alert", True):
        words.append("Alert")
    if tuning.get("block"):
        words.append("Block (ICAP)")
    labels = dict(GovernanceKind.choices)
    labels[GovernanceKind.NOTIFY_USER] = "Notify file owner"
    words += [labels.get(kind, kind) for kind in policy.governance or []]
    return words
