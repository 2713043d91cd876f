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
    "alerts": "Alerts that name them.",
    "governance": "Governance actions taken on their accounts or files.",
    "detector_state": "What the anomaly detections remember about them.",
    "discovery_usage": "Cloud Discovery traffic under their username or its pseudonym.",
    "files": "Files of theirs that content inspection scanned: metadata (name, location, "
    "sharing, scan result) and, per file, the sensitive types found and how many (`matches`); "
    "never the file content, and not the masked samples.",
}


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


EXTRA_COLUMNS = {"memberships": ["group_name"], "files": ["matches"]}


def _records(kind: str, queryset: models.QuerySet) -> Iterator[dict]:
    columns = _columns(queryset)
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


def _write_kind(archive: zipfile.ZipFile, kind: str, queryset: models.QuerySet) -> int:
    header = _columns(queryset) + EXTRA_COLUMNS.get(kind, [])
    count = 0
    with archive.open(f"{kind}.csv", mode="w", force_zip64=True) as entry:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        for row in _records(kind, queryset):
            writer.writerow([_cell(row.get(name)) for name in header])
            count += 1
            if text.tell() > CHUNK:
                entry.write(text.getvalue().encode())
                text.seek(0)
                text.truncate()
        entry.write(text.getvalue().encode())
    with archive.open(f"{kind}.json", mode="w", force_zip64=True) as entry:
        entry.write(b"[")
        for n, row in enumerate(_records(kind, queryset)):
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
                counts[kind] = _write_kind(archive, kind, personal.rows(subject, kind))
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
            }
            archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    finally:
        sink.close()
    return counts


def read(tenant: Tenant, row: SubjectRequest) -> Iterator[bytes]:
    """The archive's bytes, chunk by chunk (opened lazily); ExportGone when it is not there."""
    if row.kind != SubjectRequestKind.EXPORT or row.status != "done":
        raise ExportGone("This request has no archive.")
    target = path_for(tenant.id, row.pk)
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


def available(tenant: Tenant, row: SubjectRequest) -> bool:
    return row.kind == SubjectRequestKind.EXPORT and path_for(tenant.id, row.pk).exists()
