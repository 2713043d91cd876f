"""The archive of a data-subject export: a ZIP with one CSV and one JSON file per kind of data
(`personal.EXPORT_KINDS`) and `manifest.json` (what each file holds and how many rows).

It is written once, when the request is made, by `zipfile` into a non-seekable sink (streamed
entries, no seeking back), and leaves the process only sealed: the sink seals every ~256 KiB
under the tenant's data key (`crypto.seal`) and appends it to a spool file as
`length (4 bytes) | sealed chunk`, the framing `keys.versions_in_use` reads, so a key rotation
keeps the version the archive needs. Nothing about the person touches the disk in clear, and
memory stays flat whatever the number of activities (rows are read with a server-side cursor).
`read` opens the chunks one by one for the download. Archives are kept `KEEP_DAYS`, deleted
when the person is erased (`forget`), and with the tenant's spool at offboarding.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from apps.accounts.models import Account, CloudUser
from apps.discovery import spool
from apps.tenants.models import Tenant

from . import crypto, personal
from .models import SubjectRequest, SubjectRequestKind

KEEP_DAYS = 7
CHUNK = 256 * 1024
PURPOSE = "compliance.subject_export"
_LEN = struct.Struct(">I")
_CSV_RISKY = ("=", "+", "-", "@", "\t", "\r")  # spreadsheet formula injection

DESCRIPTIONS = {
    "profile": "The person as joined across apps (identity, name, department, job title).",
    "accounts": "Their account in each connected app, as the app last described it.",
    "memberships": "The groups their accounts belong to.",
    "activities": "Every activity of theirs we hold, private ones included.",
    "alerts": "Alerts about them: what was raised and when, with their own links (person, "
    "accounts, activities); other people named in an alert shared with them are shown as "
    "[someone else], and the analysts' comments are left out.",
    "governance": "Governance actions taken on their accounts or files.",
    "detector_state": "What the anomaly detections remember about them.",
    "discovery_usage": "Cloud Discovery traffic under their username or its pseudonym.",
    "files": "Files of theirs that content inspection scanned: metadata (name, location, "
    "sharing, scan result) and, per file, the sensitive types found and how many (`matches`); "
    "never the file content, and not the masked samples.",
    "audit_events": "Entries of the audit log (what console users did) that name them. The "
    "audit log is never changed, so an erase keeps these entries.",
}
OTHERS = "[someone else]"


class ExportGone(Exception):
    """The archive is not (or no longer) available."""


def path_for(tenant_id, request_id) -> Path:
    return spool.tenant_dir(tenant_id) / f"subject-export-{request_id}.bin"


class _SealingSink:
    """A write-only, non-seekable file for `zipfile` that seals and appends every CHUNK."""

    def __init__(self, tenant: Tenant, target: Path) -> None:
        self._tenant_id = tenant.id
        self._buffer = bytearray()
        target.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(target, "wb")  # noqa: SIM115 (closed by close())

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self._seal()
        return len(data)

    def flush(self) -> None:
        pass

    def _seal(self) -> None:
        if self._buffer:
            sealed = crypto.seal(self._tenant_id, bytes(self._buffer), PURPOSE)
            self._file.write(_LEN.pack(len(sealed)) + sealed)
            self._buffer.clear()

    def close(self) -> None:
        self._seal()
        self._file.close()


def _columns(queryset: models.QuerySet) -> list[str]:
    return [f.attname for f in queryset.model._meta.concrete_fields if f.attname != "tenant_id"]


def _file_records(queryset: models.QuerySet) -> Iterator[dict]:
    """File records with `matches`: [{type, label, count, confidence}] (never the samples)."""
    from apps.dlp.models import Match

    columns = _columns(queryset)
    rows = queryset.order_by().values(*columns).iterator(chunk_size=500)
    while chunk := [row for _, row in zip(range(500), rows, strict=False)]:
        found: dict = {}
        for match in (
            Match.objects.filter(file_id__in=[row["id"] for row in chunk])
            .order_by("-count", "type_key")
            .values("file_id", "type_key", "type_label", "count", "confidence")
        ):
            found.setdefault(match.pop("file_id"), []).append(
                {
                    "type": match["type_key"],
                    "label": match["type_label"],
                    "count": match["count"],
                    "confidence": match["confidence"],
                }
            )
        for row in chunk:
            row["matches"] = found.get(row["id"], [])
            yield row


ALERT_COLUMNS = [
    "id",
    "number",
    "alert_type",
    "severity",
    "category",
    "status",
    "policy_name",
    "title",
    "description",
    "evidence",
    "ips",
    "first_triggered_at",
    "last_triggered_at",
    "created_at",
    "user_id",
    "account_ids",
    "activity_ids",
]
AUDIT_COLUMNS = ["seq", "created_at", "action", "object_type", "object_id", "details"]


def _alert_records(subject: personal.Subject, queryset: models.QuerySet) -> Iterator[dict]:
    """The subject's alerts without other people's data: their own links only, other people's
    names (identity, emails, usernames, external ids, display names of the people, accounts and
    activities linked to the alert) and addresses other than the subject's replaced by OTHERS
    in title, description and evidence; no comment, assignee or dedupe key."""
    from apps.activities.models import Activity
    from apps.alerts.models import AlertAccount, AlertActivity, AlertUser

    own_ips = {
        str(ip)
        for ip in Activity.objects.filter(personal.activities_q(subject))
        .exclude(ip=None)
        .values_list("ip", flat=True)
        .distinct()
    }
    mine = subject.names | subject.display_names
    own_accounts = set(subject.account_ids)
    for alert in queryset.order_by("-last_triggered_at").iterator(chunk_size=200):
        linked = set(AlertUser.objects.filter(alert=alert).values_list("user_id", flat=True))
        user_ids = set(linked)
        account_ids = set(
            AlertAccount.objects.filter(alert=alert).values_list("account_id", flat=True)
        )
        activity_ids = list(
            AlertActivity.objects.filter(alert=alert).values_list("activity_id", flat=True)
        )
        own_activities, actors = set(), set()
        for pk, user_id, account_id, actor, ip in Activity.objects.filter(
            pk__in=activity_ids
        ).values_list("pk", "user_id", "account_id", "actor", "ip"):
            if (
                (user_id is not None and user_id == subject.user_id)
                or account_id in own_accounts
                or (user_id is None and account_id is None and actor.lower() in subject.names)
            ):
                own_activities.add(pk)
                continue
            user_ids.add(user_id)
            account_ids.add(account_id)
            actors |= {actor, str(ip or "")}
        user_ids.discard(subject.user_id)
        others = list(Account.objects.filter(pk__in=account_ids - own_accounts - {None}))
        people = list(CloudUser.objects.filter(pk__in=user_ids - {None}))
        words = set()
        for person in people:
            words |= personal.names_of(person, []) | personal.display_names_of(person, [])
        words |= personal.names_of(None, others) | personal.display_names_of(None, others)
        words |= {a.lower() for a in actors if a}  # their actor names and addresses
        words |= {str(ip) for ip in alert.ips or []}
        words -= own_ips
        found = personal.pattern(words - mine)
        yield {
            **{
                name: getattr(alert, name)
                for name in ALERT_COLUMNS
                if name not in ("user_id", "account_ids", "activity_ids")
            },
            "title": personal.replace(found, alert.title, OTHERS),
            "description": personal.replace(found, alert.description, OTHERS),
            "evidence": personal.replace(found, alert.evidence, OTHERS),
            "ips": [ip for ip in alert.ips or [] if str(ip) in own_ips],
            "user_id": subject.user_id if subject.user_id in linked else None,
            "account_ids": sorted(str(pk) for pk in account_ids & own_accounts),
            "activity_ids": sorted(str(pk) for pk in own_activities),
        }


def _header(kind: str, queryset: models.QuerySet) -> list[str]:
    if kind == "alerts":
        return ALERT_COLUMNS
    if kind == "audit_events":
        return AUDIT_COLUMNS
    return _columns(queryset) + EXTRA_COLUMNS.get(kind, [])


EXTRA_COLUMNS = {"memberships": ["group_name"], "files": ["matches"]}


def _records(kind: str, queryset: models.QuerySet, subject: personal.Subject) -> Iterator[dict]:
    columns = _columns(queryset)
    if kind == "alerts":
        yield from _alert_records(subject, queryset)
        return
    if kind == "audit_events":
        # Console users' names and addresses are theirs, not the subject's: left out.
        yield from queryset.values(*AUDIT_COLUMNS).iterator(chunk_size=500)
        return
    if kind == "files":
        yield from _file_records(queryset)
        return
    if kind == "memberships":
        for row in queryset.order_by().values(*columns, "group__name").iterator(chunk_size=500):
            row["group_name"] = row.pop("group__name")
            yield row
        return
    # No ORDER BY on activities: sorting millions of rows would defeat the streaming.
    yield from queryset.order_by().values(*columns).iterator(chunk_size=2000)


def _cell(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, cls=DjangoJSONEncoder)
    text = text.strip('"') if not isinstance(value, dict | list) else text
    return "'" + text if text.startswith(_CSV_RISKY) else text


def _write_kind(
    archive: zipfile.ZipFile, kind: str, queryset: models.QuerySet, subject: personal.Subject
) -> int:
    header = _header(kind, queryset)
    count = 0
    with archive.open(f"{kind}.csv", mode="w", force_zip64=True) as entry:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        for row in _records(kind, queryset, subject):
            writer.writerow([_cell(row.get(name)) for name in header])
            count += 1
            if text.tell() > CHUNK:
                entry.write(text.getvalue().encode())
                text.seek(0)
                text.truncate()
        entry.write(text.getvalue().encode())
    with archive.open(f"{kind}.json", mode="w", force_zip64=True) as entry:
        entry.write(b"[")
        for n, row in enumerate(_records(kind, queryset, subject)):
            entry.write((b",\n" if n else b"\n") + json.dumps(row, cls=DjangoJSONEncoder).encode())
        entry.write(b"\n]\n")
    return count


def write(subject: personal.Subject, row: SubjectRequest) -> dict[str, int]:
    """Write the subject's archive for request `row`; returns the rows per kind."""
    sink = _SealingSink(subject.tenant, path_for(subject.tenant.id, row.pk))
    counts: dict[str, int] = {}
    try:
        with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
            for kind in personal.EXPORT_KINDS:
                counts[kind] = _write_kind(archive, kind, personal.rows(subject, kind), subject)
            # Said apart: the person's private activities are theirs to have, and a reader of
            # the receipt should know the archive holds some.
            counts["private_activities"] = private_count(subject)
            manifest = {
                "request": str(row.pk),
                "subject": row.subject_label,
                "made_at": timezone.now().isoformat(),
                "format": "per kind: <kind>.csv and <kind>.json (the same rows), columns by "
                "database name",
                "files": {
                    kind: {"rows": counts[kind], "holds": DESCRIPTIONS[kind]}
                    for kind in personal.EXPORT_KINDS
                },
                "private_activities": counts["private_activities"],
            }
            archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    finally:
        sink.close()
    return counts


def private_count(subject: personal.Subject) -> int:
    """How many of the subject's activities are private (in activities.csv/json too)."""
    return personal.rows(subject, "activities").filter(is_private=True).count()


def read(tenant: Tenant, row: SubjectRequest) -> Iterator[bytes]:
    """The archive's bytes, chunk by chunk (opened lazily); ExportGone when it is not there."""
    if row.kind != SubjectRequestKind.EXPORT or row.status != "done":
        raise ExportGone("This request has no archive.")
    target = path_for(tenant.id, row.pk)
    if expired(row):  # the daily sweep may not have run yet: never serve it past its days
        raise ExportGone(
            f"The archive has expired (archives are kept {KEEP_DAYS} days). "
            "Make a new export request."
        )
    if not target.exists():
        raise ExportGone(
            f"The archive is no longer available (kept {KEEP_DAYS} days, or the person was "
            "erased since). Make a new export request."
        )

    def chunks() -> Iterator[bytes]:
        with open(target, "rb") as fh:
            while head := fh.read(_LEN.size):
                sealed = fh.read(_LEN.unpack(head)[0])
                yield crypto.open_sealed(sealed, PURPOSE, tenant.id)

    return chunks()


def forget(tenant: Tenant, subject_digest: str) -> int:
    """Delete the archives of earlier exports about the same person; returns how many."""
    removed = 0
    for pk in SubjectRequest.objects.filter(
        subject_digest=subject_digest, kind=SubjectRequestKind.EXPORT
    ).values_list("pk", flat=True):
        target = path_for(tenant.id, pk)
        if target.exists():
            target.unlink()
            removed += 1
    return removed


def expire(tenant: Tenant, *, now: datetime | None = None) -> int:
    """Delete archives older than KEEP_DAYS (beat, with the account cleanup)."""
    cutoff = (now or timezone.now()) - timedelta(days=KEEP_DAYS)
    removed = 0
    for pk in (
        SubjectRequest.unscoped_objects.using(tenant.db_alias)
        .filter(tenant_id=tenant.id, kind=SubjectRequestKind.EXPORT, created_at__lt=cutoff)
        .values_list("pk", flat=True)
    ):
        target = path_for(tenant.id, pk)
        if target.exists():
            target.unlink()
            removed += 1
    return removed


def expired(row: SubjectRequest, *, now: datetime | None = None) -> bool:
    """The request is older than KEEP_DAYS (its archive is not served, whether or not the
    sweep deleted it yet)."""
    return row.created_at < (now or timezone.now()) - timedelta(days=KEEP_DAYS)


def available(tenant: Tenant, row: SubjectRequest) -> bool:
    return (
        row.kind == SubjectRequestKind.EXPORT
        and not expired(row)
        and path_for(tenant.id, row.pk).exists()
    )
