"""Data-subject requests (export, erase) and the deleted-account cleanup (writes).

- `find_subject(query)`: the person by identity, email, an account's username, email or external
  id; accounts no person holds are a subject of their own.
- `export(...)`: records a request with its counts and writes the archive, sealed under the
  tenant key, to the spool (`subject_export`); `open_export(...)` streams it back (audited).
- `erase(...)`: removes everything about the person (`erasure.erase`), with a receipt.
- `cleanup_deleted_accounts()`: beat, every geo database: accounts deleted in their app longer
  ago than the tenant's window lose their copy here (see `personal`): the directory goes and
  what remains is stripped, never deleted; a person left with no account loses their profile
  too. One `PurgeRun(kind="accounts")` per tenant and sweep with the count; a sweep stopped
  half-way leaves it running and the next sweep carries it on.

The person is recorded only as a keyed digest and a masked label. The digest is SHA-256 of the
tenant's pseudonym (AES-SIV under its sealed anonymisation key, `discovery.anonymize`) of the
normalised identity: deterministic per tenant, so "was X erased?" is answered by entering X
again, unreadable without the key, stable across data-key rotations (the anonymisation key is
re-sealed, not replaced) and crypto-shredded with the tenant.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from apps.accounts.models import Account, AccountStatus, CloudUser
from apps.tenants import audit
from apps.tenants.models import Tenant
from apps.tenants.routing import geo_aliases
from apps.tenants.scoping import tenant_context
from apps.tenants.tasking import RUNS_TASKS, OutOfTime, enqueue_on_commit

from . import erasure, inventory, personal, subject_export
from .models import (
    PurgeMethod,
    PurgeRun,
    PurgeStatus,
    RetentionSettings,
    SubjectRequest,
    SubjectRequestKind,
    SubjectRequestStatus,
)
from .personal import Subject

log = logging.getLogger(__name__)


class SubjectRefused(ValueError):
    """Bad input for a request (empty, unknown, ambiguous); `field` names the input."""

    def __init__(self, field: str, message: str, *, not_found: bool = False):
        super().__init__(message)
        self.field = field
        self.not_found = not_found


# --- Finding the person -------------------------------------------------------------------------


def digest(tenant: Tenant, identity: str) -> str:
    """The keyed digest of an identity (see the module docstring)."""
    from apps.discovery.anonymize import Pseudonymizer

    text = "subject-request|" + identity.strip().lower()
    return hashlib.sha256(Pseudonymizer(tenant).pseudonym(text).encode()).hexdigest()


def mask(identity: str) -> str:
    """ "zed.quux@contoso.test" -> "z***@contoso.test"; anything else -> "z***"."""
    text = identity.strip()
    local, at, domain = text.partition("@")
    return f"{local[:1]}***{at}{domain}" if local else "***"


def _pseudonyms(tenant: Tenant, names: frozenset[str]) -> frozenset[str]:
    from apps.discovery.anonymize import Pseudonymizer
    from apps.discovery.models import AnonymizationKey

    if not AnonymizationKey.objects.exists():  # nothing was ever anonymised here
        return frozenset()
    pseudo = Pseudonymizer(tenant)
    return frozenset(pseudo.pseudonym(name) for name in names)


def subject_for(tenant: Tenant, user: CloudUser | None, accounts: list[Account]) -> Subject:
    names = personal.names_of(user, accounts)
    return Subject(
        tenant=tenant,
        user=user,
        accounts=accounts,
        names=names,
        display_names=personal.display_names_of(user, accounts),
        pseudonyms=_pseudonyms(tenant, names),
    )


def find_subject(*, tenant: Tenant, query: str) -> Subject:
    """The person (or person-less accounts) `query` names; scoped, inside the tenant context."""
    text = (query or "").replace("\x00", "").strip().lower()
    if not text:
        raise SubjectRefused("subject", "Enter the person's identity, email or username.")
    people = list(
        CloudUser.objects.annotate(i=Lower("identity"), e=Lower("email")).filter(
            models.Q(i=text) | models.Q(e=text)
        )
    )
    accounts = list(
        Account.objects.annotate(u=Lower("username"), e=Lower("email"), x=Lower("external_id"))
        .filter(models.Q(u=text) | models.Q(e=text) | models.Q(x=text))
        .select_related("user")
    )
    owners = {p.pk: p for p in people} | {a.user.pk: a.user for a in accounts if a.user}
    if len(owners) > 1:
        raise SubjectRefused(
            "subject",
            f"This matches {len(owners)} people; enter the person's full identity (email/UPN).",
        )
    if owners:
        user = next(iter(owners.values()))
        return subject_for(tenant, user, list(Account.objects.filter(user=user)))
    if accounts:
        return subject_for(tenant, None, accounts)
    raise SubjectRefused(
        "subject", "No person or account with this identity, email or username.", not_found=True
    )


def label_of(subject: Subject, query: str) -> tuple[str, str]:
    """(digest, masked label) of the subject: by identity, else the query as entered."""
    identity = subject.user.identity if subject.user is not None else query.replace("\x00", "")
    return digest(subject.tenant, identity), mask(identity)


# Plain words for the kinds in previews and receipts (keys of `preview` and of `counts`).
KIND_LABELS = {
    "profile": "profile",
    "accounts": "accounts",
    "memberships": "group memberships",
    "activities": "activities",
    "alerts": "alerts",
    "alert_links": "links from alerts",
    "alerts_deleted": "alerts deleted",
    "alerts_redacted": "alerts kept for others, this person removed",
    "governance": "governance actions",
    "governance_redacted": "governance actions kept, this person removed",
    "detector_state": "detection memories",
    "match_windows": "policy match windows",
    "discovery_usage": "Cloud Discovery usage rows",
    "discovery_ip_usage": "Cloud Discovery usage rows by IP",
    "exports_deleted": "earlier export archives deleted",
    "files": "file records (content inspection)",
    "file_matches": "sensitive-type matches of those files",
    "files_stripped": "file records kept, owner removed",
    "activity_mentions": "other people's activities about this person, names removed",
    "private_activities": "of the activities, private ones (the person is in an "
    "activity-privacy group)",
    "audit_events": "audit log entries that name this person",
    "audit_events_retained": "audit log entries kept unchanged (the audit log is never "
    "changed: it records what console users did)",
}


def labelled(counts: dict) -> list[tuple[str, int]]:
    """`counts` as (plain words, number) pairs, in a stable order."""
    return [
        (KIND_LABELS.get(kind, kind.replace("_", " ")), n)
        for kind, n in sorted(counts.items())
        if isinstance(n, int)
    ]


def preview(subject: Subject) -> dict[str, int]:
    """How many rows of each export kind the subject has (what an erase removes, and as
    `<kind>_retained` what it keeps: `personal.KEPT`)."""
    counts = {
        f"{kind}_retained" if kind in personal.KEPT_KINDS else kind: personal.rows(
            subject, kind
        ).count()
        for kind in personal.EXPORT_KINDS
    }
    return {kind: n for kind, n in counts.items() if n}


def check(*, tenant: Tenant, query: str) -> list[SubjectRequest]:
    """Past requests about the person `query` names (by digest; no identity is stored)."""
    key = digest(tenant, query or "")
    return list(
        SubjectRequest.objects.filter(Q(subject_digest=key) | Q(name_digests__contains=f" {key} "))
    )


# --- Requests -----------------------------------------------------------------------------------


def _start(
    tenant, kind, subject, query, reference, actor, status=SubjectRequestStatus.RUNNING
) -> SubjectRequest:
    key, label = label_of(subject, query)
    actor_id, actor_label = audit.actor_fields(actor)
    others = sorted({digest(tenant, name) for name in subject.names if name} - {key})
    return SubjectRequest.objects.create(
        kind=kind,
        status=status,
        subject_digest=key,
        name_digests=f" {' '.join(others)} " if others else "",
        target={
            "user": str(subject.user.pk) if subject.user is not None else None,
            "accounts": [str(account.pk) for account in subject.accounts],
        },
        started_at=timezone.now() if status == SubjectRequestStatus.RUNNING else None,
        subject_label=label,
        reference=(reference or "").replace("\x00", "").strip()[:200],
        requested_by_id=actor_id if isinstance(actor_id, int) else None,
        requested_by_label=actor_label[:254],
    )


def _finish(request_row: SubjectRequest, counts: dict, error: str = "") -> None:
    request_row.counts = dict(counts)
    request_row.status = SubjectRequestStatus.FAILED if error else SubjectRequestStatus.DONE
    request_row.error = error[:500]
    request_row.finished_at = timezone.now()
    request_row.target = {}  # the ids were for the run only
    request_row.save(update_fields=["counts", "status", "error", "finished_at", "target"])


def export(
    *, tenant: Tenant, actor, query: str, reference: str = "", request=None
) -> SubjectRequest:
    """Record an export request and write its archive (sealed) to the spool; audited."""
    subject = find_subject(tenant=tenant, query=query)
    row = _start(tenant, SubjectRequestKind.EXPORT, subject, query, reference, actor)
    return _export(tenant, row, subject, actor, request)


def _export(tenant: Tenant, row: SubjectRequest, subject: Subject, actor, request):
    try:
        counts = subject_export.write(subject, row)
    except Exception as exc:
        _finish(row, {}, f"The export failed: {type(exc).__name__}.")
        raise
    _finish(row, counts)
    audit.record(
        tenant,
        "subjects.exported",
        actor=actor,
        request=request,
        target=row,
        details={"request": str(row.pk), "counts": row.counts},
    )
    return row


def open_export(*, tenant: Tenant, actor, row: SubjectRequest, request=None):
    """The archive's bytes, streamed (audited before the first byte leaves)."""
    stream = subject_export.read(tenant, row)  # raises ExportGone before anything is audited
    audit.record(
        tenant,
        "subjects.export_downloaded",
        actor=actor,
        request=request,
        target=row,
        details={"request": str(row.pk)},
    )
    return stream


def erase(
    *, tenant: Tenant, actor, query: str, reference: str = "", request=None
) -> SubjectRequest:
    """Erase everything about the person; the request's `counts` is the receipt (audited)."""
    subject = find_subject(tenant=tenant, query=query)
    row = _start(tenant, SubjectRequestKind.ERASE, subject, query, reference, actor)
    return _erase(tenant, row, subject, actor, request)


def _erase(tenant: Tenant, row: SubjectRequest, subject: Subject, actor, request):
    try:
        private = subject_export.private_count(subject)  # counted before they go
        receipt = erasure.erase(subject)
        receipt["private_activities"] += private
        receipt["exports_deleted"] += subject_export.forget(tenant, row.subject_digest)
    except Exception as exc:
        _finish(row, {}, f"The erasure stopped: {type(exc).__name__}. Run it again.")
        raise
    row.refresh_from_db()  # its reference may have been scrubbed
    _finish(row, {k: v for k, v in receipt.items() if v})
    audit.record(
        tenant,
        "subjects.erased",
        actor=actor,
        request=request,
        target=row,
        details={"request": str(row.pk), "counts": row.counts},
    )
    return row


# --- In the background (console and API) ------------------------------------------------------

# A request still pending this long after it was made lost its message; one running this long
# lost its worker (past Celery's hard time limit): the beat sweep sends it again.
RESEND_PENDING_AFTER = timedelta(minutes=2)


def resend_running_after() -> timedelta:
    from casb.celery import TASK_TIME_LIMIT

    return timedelta(seconds=TASK_TIME_LIMIT + 60)


def submit(
    *, tenant: Tenant, kind: str, actor, query: str, reference: str = "", request=None
) -> SubjectRequest:
    """Record an export or erase request (pending, audited) and run it in the background
    (`compliance.run_subject_request`): a person with months of activities takes longer than
    a web request may. The person is found now, so an unknown one is refused at once; the task
    gets only the request's id."""
    from .tasks import run_subject_request

    subject = find_subject(tenant=tenant, query=query)
    key, _ = label_of(subject, query)
    busy = [SubjectRequestStatus.PENDING, SubjectRequestStatus.RUNNING]
    if SubjectRequest.objects.filter(subject_digest=key, status__in=busy).exists():
        raise SubjectRefused(
            "subject", "A request about this person is still running: wait until it is done."
        )
    with transaction.atomic(using=tenant.db_alias):
        row = _start(
            tenant, kind, subject, query, reference, actor, status=SubjectRequestStatus.PENDING
        )
        enqueue_on_commit(run_subject_request, str(tenant.id), str(row.pk), using=tenant.db_alias)
    audit.record(
        tenant,
        "subjects.requested",
        actor=actor,
        request=request,
        target=row,
        details={"request": str(row.pk), "kind": kind},
    )
    return row


def run_request(tenant: Tenant, request_id: str) -> str:
    """Carry out one pending request (the task). Claimed under a row lock, so a duplicate
    delivery does nothing; a person already gone (erased meanwhile) is a finished request with
    nothing to count."""
    with transaction.atomic(using=tenant.db_alias):
        row = (
            SubjectRequest.objects.select_for_update(skip_locked=True)
            .filter(pk=request_id, status=SubjectRequestStatus.PENDING)
            .first()
        )
        if row is None:
            return "not pending"
        row.status, row.started_at = SubjectRequestStatus.RUNNING, timezone.now()
        row.save(update_fields=["status", "started_at"])
    target = row.target or {}
    user = CloudUser.objects.filter(pk=target.get("user")).first() if target.get("user") else None
    # The accounts as they are now: one joined since the request is the person's too.
    held = Q(pk__in=target.get("accounts") or [])
    if user is not None:
        held |= Q(user=user)
    accounts = list(Account.objects.filter(held))
    actor = _requester(row)
    if user is None and not accounts:
        if row.kind == SubjectRequestKind.ERASE:
            _finish(row, {})  # nothing left: erased by an earlier request
        else:
            _finish(row, {}, "The person is no longer held here: nothing to export.")
        return row.status
    subject = subject_for(tenant, user, accounts)
    run = _export if row.kind == SubjectRequestKind.EXPORT else _erase
    try:
        run(tenant, row, subject, actor, None)
    except Exception:
        log.exception("data-subject request %s failed", row.pk)
    return SubjectRequest.objects.filter(pk=row.pk).values_list("status", flat=True).first()


def _requester(row: SubjectRequest):
    """Who asked, for the background run's audit events: the console user (an API token's
    creator), else their name as recorded."""
    from django.contrib.auth import get_user_model

    if row.requested_by_id is not None:
        user = get_user_model().objects.filter(pk=row.requested_by_id).first()
        if user is not None:
            return user
    return row.requested_by_label or None


def resend_stalled(now: datetime | None = None) -> int:
    """Beat, every geo database: send again each request whose message was lost (pending for
    long) or whose worker died (running past the task time limit)."""
    from .tasks import run_subject_request

    now = now or timezone.now()
    sent = 0
    running = list(Tenant.objects.filter(status__in=RUNS_TASKS).values_list("pk", flat=True))
    for alias in sorted(geo_aliases() | {"default"}):
        rows = SubjectRequest.unscoped_objects.using(alias)
        stalled = rows.filter(
            models.Q(status=SubjectRequestStatus.PENDING, created_at__lt=now - RESEND_PENDING_AFTER)
            | models.Q(
                status=SubjectRequestStatus.RUNNING, started_at__lt=now - resend_running_after()
            )
        ).filter(
            models.Q(started_at__isnull=True) | models.Q(started_at__lt=now - RESEND_PENDING_AFTER)
        )
        # Not for a tenant whose tasks do not run (suspended, being deleted).
        stalled = stalled.filter(tenant_id__in=running)
        for pk, tenant_id in stalled.values_list("pk", "tenant_id")[:100]:
            # Pending again, stamped now so the next sweep waits before sending it again.
            # Only while still stalled: a worker may have claimed it since it was listed.
            if stalled.filter(pk=pk).update(status=SubjectRequestStatus.PENDING, started_at=now):
                run_subject_request.delay(str(tenant_id), str(pk))
                sent += 1
    return sent


# --- Deleted-account cleanup --------------------------------------------------------------------


def _cleanup_account(tenant: Tenant, account: Account, receipt: Counter) -> None:
    """Strip one deleted account (never a full erase: what remains is still inside its
    retention). A person left with no account goes with it: the same strip, with the person's
    links cleared too, and their profile removed."""
    person = account.user
    others = list(Account.objects.filter(user=person).exclude(pk=account.pk)) if person else []
    going = person if person is not None and not others else None
    if going is not None:
        names = personal.names_of(going, [account])
        display = personal.display_names_of(going, [account])
    else:
        kept = personal.names_of(person, others) if person else frozenset()
        kept_display = personal.display_names_of(person, others) if person else frozenset()
        names = personal.names_of(None, [account]) - kept
        display = personal.display_names_of(None, [account]) - kept_display - kept
    subject = Subject(
        tenant=tenant,
        user=going,
        accounts=[account],
        names=names,
        display_names=display,
        full=False,
        pseudonyms=_pseudonyms(tenant, names),
    )
    receipt.update(erasure.erase(subject))


def cleanup_tenant(tenant: Tenant, *, now: datetime | None = None) -> int:
    """Remove the tenant's accounts deleted in their app before its window; returns how many."""
    now = now or timezone.now()
    with tenant_context(tenant):
        days = inventory.deleted_accounts_days(RetentionSettings.objects.first())
        cutoff = now - timedelta(days=days)
        due = Account.objects.filter(
            status=AccountStatus.DELETED, deleted_seen_at__lt=cutoff
        ).select_related("user")
        if not due.exists():
            return 0
        run = _running(cutoff, now)
        receipt: Counter = Counter((run.details or {}).get("by_kind") or {})
        removed = 0
        for account in due.iterator(chunk_size=100):
            with transaction.atomic(using=tenant.db_alias):
                _cleanup_account(tenant, account, receipt)
                run.removed += 1
                run.details = {"by_kind": dict(receipt)}
                run.save(update_fields=["removed", "details"])
                removed += 1
        run.status, run.finished_at = PurgeStatus.DONE, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        return removed


def _running(cutoff: datetime, now: datetime) -> PurgeRun:
    """The newest running cleanup record (a sweep stopped half-way: this one carries it on, as
    the retention purge does), or a new one."""
    run = (
        PurgeRun.objects.filter(
            kind="accounts", method=PurgeMethod.ACCOUNT_CLEANUP, status=PurgeStatus.RUNNING
        )
        .order_by("-started_at")
        .first()
    )
    if run is None:
        return PurgeRun.objects.create(
            kind="accounts", method=PurgeMethod.ACCOUNT_CLEANUP, cutoff=cutoff, started_at=now
        )
    run.cutoff = cutoff
    run.save(update_fields=["cutoff"])
    return run


def cleanup_deleted_accounts(*, now: datetime | None = None) -> int:
    """Beat: the cleanup in every geo database, tenant by tenant; also drops expired export
    archives. Returns how many accounts were removed."""
    removed = 0
    aliases = geo_aliases()
    for tenant in Tenant.objects.using("default").all():
        if tenant.db_alias not in aliases:
            continue
        try:
            removed += cleanup_tenant(tenant, now=now)
            subject_export.expire(tenant, now=now)
        except OutOfTime:
            raise  # the task's time is up: the next run carries on
        except Exception:  # one tenant's failure must not stop the others
            log.exception("deleted-account cleanup failed for tenant %s", tenant.pk)
    return removed
