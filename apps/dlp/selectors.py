"""Reads of content inspection data."""

from __future__ import annotations

import json
import uuid

from django.db.models import QuerySet

from apps.compliance import crypto

from .models import SAMPLES_PURPOSE, FileRecord, Match


def samples(match: Match) -> list[dict]:
    """A match's masked samples: [{"part", "start", "end", "evidence", "context",
    "confidence"}] (opened with the tenant key; never raw values)."""
    return json.loads(
        crypto.open_sealed(bytes(match.samples_sealed), SAMPLES_PURPOSE, match.tenant_id)
    )


def files() -> QuerySet[FileRecord]:
    """The current tenant's file records, newest scan first, with their app."""
    return FileRecord.objects.select_related("app_instance").order_by("-scanned_at", "name", "id")


def file(file_id) -> FileRecord | None:
    """One file record of the current tenant (None for a missing one or another tenant's)."""
    return files().filter(pk=file_id).first()


def matches(record: FileRecord) -> list[dict]:
    """The file's matches, each with its opened masked samples."""
    return [
        {"match": match, "samples": samples(match)}
        for match in Match.objects.filter(file=record).order_by("-count", "type_key")
    ]


def file_policy_choices() -> list[tuple[str, str]]:
    """(id, name) of the tenant's file policies, for drop-downs."""
    from apps.alerts.models import Policy, PolicyKind

    return [
        (str(pk), name)
        for pk, name in Policy.objects.filter(kind=PolicyKind.FILE)
        .order_by("name")
        .values_list("pk", "name")
    ]


def policies_of(record: FileRecord) -> list[dict]:
    """The file policies the file matched: {"id", "name", "exists"} in the record's order (a
    policy deleted since keeps its id and is named as deleted)."""
    from apps.alerts.models import Policy, PolicyKind

    ids = [pk for pk in (record.matched_policies or []) if _is_uuid(pk)]
    names = {
        str(pk): name
        for pk, name in Policy.objects.filter(kind=PolicyKind.FILE, pk__in=ids).values_list(
            "pk", "name"
        )
    }
    return [
        {"id": pk, "name": names.get(pk, "A deleted policy"), "exists": pk in names} for pk in ids
    ]


def policy_names(ids: set[str]) -> dict[str, str]:
    """{policy id: name} of the given file policy ids (one query, for lists)."""
    from apps.alerts.models import Policy, PolicyKind

    ids = {pk for pk in ids if _is_uuid(pk)}
    if not ids:
        return {}
    return {
        str(pk): name
        for pk, name in Policy.objects.filter(kind=PolicyKind.FILE, pk__in=ids).values_list(
            "pk", "name"
        )
    }


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
