"""Polling: one poll of one app instance, and the beat job that queues the due ones.

`poll_instance` runs the directory sync (when due), then every activity stream from its
cursor, page by page (a page's events are ingested, then its cursor is saved), and finally
records the status in plain words. `enqueue_due_polls` is the body of the beat job
"connectors.poll_due". Both are re-exported by `apps.connectors.services`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.services import SyncResult, sync_directory
from apps.activities.events import IngestResult
from apps.activities.ingestion import ingest
from apps.activities.models import ActivitySource
from apps.compliance.crypto import DecryptionError
from apps.tenants.gate import CollectionStopped, collection_stopped
from apps.tenants.models import Tenant, TenantStatus
from apps.tenants.routing import geo_aliases
from apps.tenants.scoping import current_tenant_or_none, tenant_context

from . import errors, status
from .adapters import adapter_class, polled_vendors
from .client import VendorClient
from .models import AppInstance, InstanceStatus, PollCursor, StatusChange

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=20)  # longer than the task's hard time limit (15 min)
POLL_BUDGET = timedelta(minutes=10)  # a poll stops after this; the rest is the next poll's
MAX_PAGES_PER_POLL = 500
QUEUED_GRACE = timedelta(minutes=10)  # a queued poll that never ran is due again after this
KEEP_STATUS_CHANGES = 50
DIRECTORY_STREAM = "directory"


def record_status_change(instance: AppInstance, now: datetime) -> None:
    """Keep the instance's current status, in words, in its recent history."""
    StatusChange.objects.create(
        app_instance=instance, at=now, status=instance.status, words=status.words(instance, now)
    )
    stale = StatusChange.objects.filter(app_instance=instance).values_list("pk", flat=True)[
        KEEP_STATUS_CHANGES:
    ]
    if stale:
        StatusChange.objects.filter(pk__in=list(stale)).delete()


@dataclass
class PollOutcome:
    """What one poll did."""

    skipped: str = ""  # why nothing was done ("" when the poll ran)
    pages: int = 0
    ingest: IngestResult = field(default_factory=IngestResult)
    skipped_records: int = 0
    directory: SyncResult | None = None
    more: bool = False  # stopped at the page or time budget; due again at once
    error: errors.ConnectorError | None = None

    def as_dict(self) -> dict:
        return {
            "skipped": self.skipped,
            "pages": self.pages,
            "accepted": self.ingest.accepted,
            "duplicates": self.ingest.duplicates,
            "rejected": len(self.ingest.rejected),
            "error": self.error.detail if self.error else "",
        }


def _claim(instance: AppInstance, now: datetime) -> bool:
    """Take the instance for one poll; False if paused or another poll holds it."""
    return (
        AppInstance.objects.filter(pk=instance.pk, enabled=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE, last_attempt_at=now)
        == 1
    )


def _directory_due(instance: AppInstance, now: datetime) -> bool:
    last = instance.last_directory_sync_at
    return last is None or now - last >= timedelta(
        minutes=settings.CONNECTOR_DIRECTORY_SYNC_MINUTES
    )


def _backoff(failures: int, base: timedelta, cap: timedelta) -> timedelta:
    return min(base * (2 ** min(max(failures - 1, 0), 16)), cap)


def _ingest(tenant: Tenant, instance: AppInstance, events) -> IngestResult:
    return ingest(
        tenant=tenant, app_instance=instance, events=events, source=ActivitySource.CONNECTOR
    )


def poll_instance(
    app_instance: AppInstance,
    *,
    directory: bool | None = None,
    now: datetime | None = None,
) -> PollOutcome:
    """One poll of `app_instance`; see the module docstring. Safe to call twice at once (the
    second returns at once) and after a crash (it resumes from the last saved page)."""
    now = now or timezone.now()
    tenant = current_tenant_or_none()
    if tenant is None or tenant.id != app_instance.tenant_id:
        tenant = Tenant.objects.get(pk=app_instance.tenant_id)
    stopped = collection_stopped(tenant)
    if stopped:  # cancelled since the poll was queued: it would store new data
        return PollOutcome(skipped=stopped)
    with tenant_context(tenant):
        if not _claim(app_instance, now):
            return PollOutcome(skipped="paused or already being polled")
        instance = AppInstance.objects.get(pk=app_instance.pk)
        outcome = PollOutcome()
        try:
            _run(tenant, instance, outcome, directory, now)
        except errors.ConnectorError as exc:
            outcome.error = exc
        except CollectionStopped as exc:  # cancelled during the poll: the rest is not stored
            outcome.skipped = str(exc)
        except DecryptionError:
            outcome.error = errors.CredentialsRejected(
                "the stored credentials can no longer be opened; enter them again"
            )
        except Exception:
            log.exception("poll of app instance %s failed", instance.pk)
            outcome.error = errors.ConnectorError("unexpected error; the server log has details")
        finally:
            _finish(instance, outcome, now)
        if AppInstance.objects.filter(pk=app_instance.pk).exists():
            app_instance.refresh_from_db()
        return outcome


def _run(tenant, instance: AppInstance, outcome: PollOutcome, directory, now) -> None:
    cls = adapter_class(instance.vendor)
    if cls is None:
        raise errors.ConnectorError(f"{instance.get_vendor_display()} is not polled")
    deadline = timezone.now() + POLL_BUDGET
    with VendorClient() as client:
        adapter = cls(
            base_url=instance.base_url, credentials=instance.credentials(), client=client, now=now
        )
        if directory or (directory is None and _directory_due(instance, now)):
            # Users first: activities then resolve to the accounts the directory just listed.
            listing = adapter.directory()
            outcome.directory = sync_directory(
                app_instance=instance,
                accounts=listing.accounts,
                groups=listing.groups,
                complete=listing.complete,
                now=now,
            )
            AppInstance.objects.filter(pk=instance.pk).update(last_directory_sync_at=now)
            PollCursor.objects.update_or_create(
                app_instance=instance,
                stream=DIRECTORY_STREAM,
                defaults={"position": {"synced_at": now.isoformat()}},
            )
        for stream in cls.streams:
            cursor, _ = PollCursor.objects.get_or_create(app_instance=instance, stream=stream)
            pages = adapter.activities(stream, dict(cursor.position or {}))
            try:
                for page in pages:
                    if page.events:
                        outcome.ingest.merge(_ingest(tenant, instance, page.events))
                    # Saved only once the page's events are stored: a crash before this line
                    # replays the page, which dedupe absorbs; nothing is skipped.
                    cursor.position = page.cursor
                    cursor.save(update_fields=["position", "updated_at"])
                    outcome.pages += 1
                    outcome.skipped_records += page.skipped
                    if outcome.pages >= MAX_PAGES_PER_POLL or timezone.now() >= deadline:
                        outcome.more = True
                        break
            finally:
                pages.close()
            if outcome.more:
                break
    if outcome.ingest.rejected:
        log.warning(
            "app instance %s: %d events rejected, first: %s",
            instance.pk,
            len(outcome.ingest.rejected),
            outcome.ingest.rejected[0].reason,
        )


def _finish(instance: AppInstance, outcome: PollOutcome, now: datetime) -> None:
    """Record the poll's outcome on the instance, and any change of status."""
    fresh = AppInstance.objects.filter(pk=instance.pk).first()
    if fresh is None:  # deleted while polling
        return
    before = (fresh.status, fresh.status_detail)
    error = outcome.error
    if error is None:
        fresh.status, fresh.status_detail, fresh.retry_at = InstanceStatus.HEALTHY, "", None
        fresh.failures = 0
        fresh.last_success_at = now
        poll_every = timedelta(minutes=settings.CONNECTOR_POLL_MINUTES)
        fresh.next_poll_at = now if outcome.more else now + poll_every
    else:
        fresh.failures += 1
        if isinstance(error, errors.RateLimited):
            retry_at = error.retry_at or now + timedelta(minutes=1)
        elif isinstance(error, errors.CredentialsRejected | errors.AuditDisabled):
            # Retrying will not help until someone acts: look again hourly, then daily.
            retry_at = now + _backoff(fresh.failures, timedelta(hours=1), timedelta(days=1))
        else:
            retry_at = now + _backoff(fresh.failures, timedelta(minutes=1), timedelta(hours=1))
        fresh.status, fresh.status_detail = error.status, errors.clip(error.detail, 400)
        fresh.retry_at = fresh.next_poll_at = retry_at
    if not fresh.enabled:  # paused while polling
        fresh.status, fresh.status_detail = InstanceStatus.PAUSED, ""
    fresh.lease_until = None
    with transaction.atomic(using=fresh._state.db):
        fresh.save(
            update_fields=[
                "status",
                "status_detail",
                "retry_at",
                "failures",
                "last_success_at",
                "next_poll_at",
                "lease_until",
            ]
        )
        if (fresh.status, fresh.status_detail) != before:
            record_status_change(fresh, now)


def enqueue_due_polls(now: datetime | None = None) -> int:
    """Enqueue a poll for each enabled instance that is due and not waiting out a rate limit.

    Each instance is marked (next poll pushed `QUEUED_GRACE` ahead) before it is enqueued, by a
    conditional update, so two beat runs never queue it twice; a queued poll that is lost makes
    it due again after the grace.
    """
    from .tasks import poll_instance_task

    now = now or timezone.now()
    queued = 0
    # Only tenants whose subscription runs collect new data (cancelled: the grace period keeps
    # what is there for export; suspended: closed).
    active = set(
        Tenant.objects.using("default")
        .filter(status=TenantStatus.ACTIVE)
        .values_list("pk", flat=True)
    )
    for alias in sorted(geo_aliases()):
        due = (
            AppInstance.unscoped_objects.using(alias)
            .filter(enabled=True, vendor__in=polled_vendors())
            .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        )
        for pk, tenant_id, next_poll_at in due.values_list("pk", "tenant_id", "next_poll_at"):
            if tenant_id not in active:
                continue
            marked = (
                AppInstance.unscoped_objects.using(alias)
                .filter(pk=pk, next_poll_at=next_poll_at)
                .update(next_poll_at=now + QUEUED_GRACE)
            )
            if marked:
                poll_instance_task.delay(str(tenant_id), str(pk))
                queued += 1
    return queued
