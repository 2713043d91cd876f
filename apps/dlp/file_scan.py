"""Scanning the files of connected apps (spec 3.3: near-real-time scan of new and changed files,
plus a continuous full scan).

`scan_app_files(app_instance)` lists the instance's files from its "files" cursor, page by
page, through the vendor adapter (`list_files` / `download_file`, see
`apps.connectors.adapters.files`). Each file is downloaded into memory only (never written to
disk) and handed to `services.scan_file`, which keeps its metadata and masked matches and
applies the file policies. The cursor is saved after each page, so a killed scan resumes on the
next page (a page cut short is listed again, and its files already recorded are skipped).

- Unchanged files are skipped without downloading: same modification time, size, name, owner,
  sharing level and external domains as their record. A sharing change alone does rescan the
  file, so policies on sharing level see the new level.
- Files larger than `MAX_DOWNLOAD_BYTES` (50 MB, the extractor's own limit) are not
  downloaded: they are recorded "not scanned: too large" with the size the app gives (the
  record keeps no SHA-256, as its content was never read). Files the app cannot hand over
  (a Google Form) are recorded "not scanned" with the adapter's reason.
- One bad file never stops the run: its error is counted with a reason. Errors that concern the
  whole connection (credentials refused, rate limit, app unavailable) end the run; the cursor
  stays at the page being read.

`enqueue_file_scans()` is the body of the beat job "dlp.scan-files": one task per enabled app
instance, of an active tenant, whose vendor adapter supports files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Account
from apps.connectors import errors
from apps.connectors.adapters import adapter_class
from apps.connectors.adapters.files import MAX_DOWNLOAD_BYTES, RemoteFile, supports_files
from apps.connectors.client import VendorClient, iso, parse_time
from apps.connectors.models import AppInstance, PollCursor
from apps.tenants.gate import CollectionStopped
from apps.tenants.models import Tenant, TenantStatus
from apps.tenants.routing import geo_aliases
from apps.tenants.scoping import current_tenant

from .extract.base import TOO_LARGE, Limits
from .models import FileRecord, FileSource, ScanStatus
from .services import FileMeta, scan_file

log = logging.getLogger(__name__)

STREAM = "files"
LEASE_STREAM = "files.lease"  # a second cursor row holds "a scan runs until ..."
SCAN_BUDGET = timedelta(minutes=10)  # a run stops after this; the next run carries on
MAX_PAGES_PER_RUN = 500
LEASE = timedelta(minutes=20)  # longer than the task's hard time limit (15 min)
MAX_ERRORS_KEPT = 50
# Errors that concern the connection, not one file: the run ends on them.
FATAL = (errors.CredentialsRejected, errors.RateLimited, errors.Unavailable, errors.AuditDisabled)


@dataclass
class FileScanOutcome:
    """What one run did."""

    skipped: str = ""  # why nothing was done ("" when the run happened)
    pages: int = 0
    scanned: int = 0  # downloaded and inspected
    not_scanned: int = 0  # recorded without inspection (too large, no text to export)
    unchanged: int = 0  # listed again, nothing changed: not downloaded
    failed: int = 0
    errors: list[dict] = field(default_factory=list)  # {"file", "reason"}, the first few
    more: bool = False  # stopped at the page or time budget; run again
    error: str = ""  # the error that ended the run

    def as_dict(self) -> dict:
        return {
            "skipped": self.skipped,
            "pages": self.pages,
            "scanned": self.scanned,
            "not_scanned": self.not_scanned,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "errors": self.errors,
            "more": self.more,
            "error": self.error,
        }

    def fail(self, remote: RemoteFile, reason: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"file": remote.name, "reason": reason[:300]})


def file_vendors() -> list[str]:
    """The vendors whose adapter lists and downloads files."""
    from apps.connectors.adapters import polled_vendors

    return [v for v in polled_vendors() if supports_files(adapter_class(v))]


def _unchanged(record: FileRecord | None, remote: RemoteFile) -> bool:
    if record is None or record.scan_status == ScanStatus.PENDING:
        return False
    return (
        record.modified_in_app_at == remote.modified_at
        and (remote.size is None or record.size == remote.size)
        and record.name == remote.name[:500]
        and record.owner == remote.owner[:254]
        and record.location == remote.location[:1000]
        and record.access_level == remote.access_level
        and sorted(record.external_domains or []) == sorted(set(remote.external_domains))[:50]
    )


class _Owners:
    """The app's account (and its person) of a file owner, by address or app id; cached."""

    def __init__(self, instance: AppInstance):
        self.instance = instance
        self.cache: dict[tuple[str, str], Account | None] = {}

    def get(self, remote: RemoteFile) -> Account | None:
        key = (remote.owner.lower(), remote.owner_id)
        if key not in self.cache:
            condition = Q()
            if remote.owner:
                condition |= Q(email__iexact=remote.owner) | Q(username__iexact=remote.owner)
            if remote.owner_id:
                condition |= Q(external_id=remote.owner_id)
            found = None
            if condition:
                found = (
                    Account.objects.filter(app_instance=self.instance)
                    .filter(condition)
                    .select_related("user")
                    .order_by("created_at")
                    .first()
                )
            self.cache[key] = found
        return self.cache[key]


def _meta(instance: AppInstance, remote: RemoteFile, owners: _Owners) -> FileMeta:
    account = owners.get(remote)
    return FileMeta(
        app_instance=instance,
        external_id=remote.external_id,
        owner=remote.owner,
        owner_account=account,
        owner_user=account.user if account is not None else None,
        location=remote.location,
        access_level=remote.access_level,
        external_domains=list(remote.external_domains),
        mime_type=remote.mime_type,
        modified_in_app_at=remote.modified_at,
    )


def record_not_scanned(*, remote_name: str, meta: FileMeta, reason: str, size: int | None, now):
    """Record a file we did not read: its metadata, "not scanned: <reason>", no SHA-256.

    `scan_file` is given no content and a limit nothing fits under (so it records the file as
    not scanned and applies the policies to its metadata); the size the app gave and the
    reason are then set in the same transaction.
    """
    tenant = current_tenant()
    with transaction.atomic(using=tenant.db_alias):
        result = scan_file(
            name=remote_name,
            data=b"",
            source=FileSource.APP,
            meta=meta,
            limits=Limits(max_bytes=-1),
            now=now,
        )
        record = result.record
        record.size = size or 0
        record.sha256 = ""
        record.scan_reason = reason[:200]
        record.save(update_fields=["size", "sha256", "scan_reason"])
    return result


def _scan_one(adapter, instance, remote: RemoteFile, owners: _Owners, outcome, now) -> None:
    existing = (
        FileRecord.objects.filter(app_instance=instance, external_id=remote.external_id[:300])
        .only(
            "scan_status",
            "modified_in_app_at",
            "size",
            "name",
            "owner",
            "location",
            "access_level",
            "external_domains",
        )
        .first()
    )
    if _unchanged(existing, remote):
        outcome.unchanged += 1
        return
    meta = _meta(instance, remote, owners)
    if remote.skip_reason or (remote.size is not None and remote.size > MAX_DOWNLOAD_BYTES):
        reason = remote.skip_reason or TOO_LARGE
        record_not_scanned(
            remote_name=remote.name, meta=meta, reason=reason, size=remote.size, now=now
        )
        outcome.not_scanned += 1
        return
    try:
        data = adapter.download_file(remote)  # in memory only
    except errors.TooLarge:  # the app listed no size and the download outgrew the client
        record_not_scanned(remote_name=remote.name, meta=meta, reason=TOO_LARGE, size=None, now=now)
        outcome.not_scanned += 1
        return
    try:
        result = scan_file(name=remote.name, data=data, source=FileSource.APP, meta=meta, now=now)
    finally:
        del data
    if result.extraction.scanned:
        outcome.scanned += 1
    else:
        outcome.not_scanned += 1


def scan_app_files(
    app_instance: AppInstance, *, now: datetime | None = None, budget: timedelta = SCAN_BUDGET
) -> FileScanOutcome:
    """One run over `app_instance`'s changed files (see the module docstring). Runs inside the
    instance's tenant context; a second run of the same instance at once returns at once."""
    tenant = current_tenant()
    if tenant.id != app_instance.tenant_id:
        raise ValueError("the app instance belongs to another tenant")
    now = now or timezone.now()
    outcome = FileScanOutcome()
    cls = adapter_class(app_instance.vendor)
    if cls is None or not supports_files(cls):
        outcome.skipped = f"{app_instance.get_vendor_display()} files are not scanned"
        return outcome
    lease = _claim(app_instance)
    if lease is None:
        outcome.skipped = "a scan of this app is already running"
        return outcome
    try:
        _run(app_instance, cls, outcome, now, timezone.now() + budget)
    finally:
        PollCursor.objects.filter(pk=lease.pk).update(position={})
    return outcome


def _claim(instance: AppInstance) -> PollCursor | None:
    """Take the instance's file scan lease (a conditional update, so two workers never both
    win); None while another scan holds it. A crashed scan's lease lapses after `LEASE`."""
    now = timezone.now()
    try:
        row, _ = PollCursor.objects.get_or_create(app_instance=instance, stream=LEASE_STREAM)
    except IntegrityError:  # created by a scan starting at the same moment
        return None
    until = parse_time((row.position or {}).get("until"))
    if until is not None and until > now:
        return None
    taken = PollCursor.objects.filter(pk=row.pk, position=row.position).update(
        position={"until": iso(now + LEASE)}
    )
    return row if taken == 1 else None


def _run(instance: AppInstance, cls, outcome: FileScanOutcome, now, deadline) -> None:
    cursor, _ = PollCursor.objects.get_or_create(app_instance=instance, stream=STREAM)
    owners = _Owners(instance)
    with VendorClient() as client:
        adapter = cls(
            base_url=instance.base_url, credentials=instance.credentials(), client=client, now=now
        )
        pages = adapter.list_files(dict(cursor.position or {}))
        try:
            for page in pages:
                for remote in page.files:
                    try:
                        _scan_one(adapter, instance, remote, owners, outcome, now)
                    except FATAL as exc:
                        outcome.error = exc.detail
                        return  # the cursor stays before this page: it is listed again
                    except CollectionStopped as exc:  # the tenant was cancelled meanwhile
                        outcome.error = str(exc)
                        return
                    except errors.ConnectorError as exc:
                        outcome.fail(remote, exc.detail)
                    except Exception as exc:  # one bad file never stops the run
                        log.exception("file scan of app instance %s: a file failed", instance.pk)
                        outcome.fail(remote, f"unexpected error ({type(exc).__name__})")
                # Saved once the page's files are recorded: a kill before this line lists the
                # page again, and the files it already recorded are skipped as unchanged.
                cursor.position = page.cursor
                cursor.save(update_fields=["position", "updated_at"])
                outcome.pages += 1
                if outcome.pages >= MAX_PAGES_PER_RUN or timezone.now() >= deadline:
                    outcome.more = True
                    return
        except errors.ConnectorError as exc:  # listing failed: the connection's problem
            outcome.error = exc.detail
        finally:
            pages.close()


def enqueue_file_scans(now: datetime | None = None) -> int:
    """Queue a file scan of every enabled instance of an active tenant whose adapter supports
    files and that is not waiting out a rate limit or a failure (the poll's `retry_at`)."""
    from .tasks import scan_app_files_task

    now = now or timezone.now()
    vendors = file_vendors()
    active = set(
        Tenant.objects.using("default")
        .filter(status=TenantStatus.ACTIVE)
        .values_list("pk", flat=True)
    )
    queued = 0
    for alias in sorted(geo_aliases()):
        due = (
            AppInstance.unscoped_objects.using(alias)
            .filter(enabled=True, vendor__in=vendors)
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
            .order_by("pk")
        )
        for pk, tenant_id in due.values_list("pk", "tenant_id"):
            if tenant_id in active:
                scan_app_files_task.delay(str(tenant_id), str(pk))
                queued += 1
    return queued
