"""Carrying out one governance action, and the sweep that re-sends the ones left behind.

`execute(tenant, action_id)` is the body of the Celery task `governance.execute_action`:
1. Exclusivity. On PostgreSQL a session advisory lock keyed by the action is taken for the whole
   run; a second delivery of the same message (Redis redelivers, the sweep re-sends) finds it
   held and does nothing. The lock dies with its connection, so when a worker is killed
   mid-action the next delivery gets it at once: that is how a dead executor is told from a
   live one. (Without PostgreSQL an in-progress action counts as abandoned after
   `STALE_RUNNING`.)
2. Claim: one conditional UPDATE moves the action to in progress (attempts + 1, started_at)
   only if it is pending, retrying and due, or in progress with no live executor. Finished
   actions, and retries that are not due yet, are left alone.
3. The vendor call through the app's adapter (`Adapter.govern`), built as a poll builds it.
   Adapters are idempotent: running an action twice (a worker died after the vendor acted and
   before the outcome was written) changes the vendor's state once.
4. The outcome: succeeded with the vendor's words; `RateLimited` / `Unavailable` (and
   connection errors) -> retrying with `next_attempt_at` (the vendor's `retry_at`, else
   exponential backoff with jitter) until `GOVERNANCE_MAX_ATTEMPTS`, then failed; any other
   refusal -> failed at once with the vendor's reason in plain words.

Short waits are Celery retries with a countdown; longer ones are left to `dispatch_due` (a
Redis countdown longer than the visibility timeout would be delivered again and again).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.compliance.crypto import DecryptionError
from apps.connectors import errors
from apps.connectors.adapters import adapter_class
from apps.connectors.adapters.base import ActionTarget
from apps.connectors.client import VendorClient
from apps.tenants.models import Tenant
from apps.tenants.routing import geo_aliases

from . import capabilities, notify
from .models import FINISHED_STATUSES, GovernanceAction, GovernanceKind, GovernanceStatus
from .services import mark

log = logging.getLogger(__name__)

STALE_RUNNING = timedelta(minutes=10)  # longer than the task's hard time limit
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(minutes=30)
COUNTDOWN_CAP = timedelta(minutes=5)  # longer waits: the sweep sends the retry when due
DUE_SLACK = timedelta(seconds=2)  # a countdown may fire a little early
LOCK_WAIT = 5.0  # seconds a delivery waits for the action's lock before leaving it be
# The sweep: how late a due action may be before it is sent again, and how often at most.
RETRY_GRACE = timedelta(seconds=30)
REDISPATCH_AFTER = timedelta(minutes=5)
SWEEP_LIMIT = 500

S = GovernanceStatus


@dataclass
class Outcome:
    """What one delivery did: the action's status after it ("" when it did nothing) and, for
    a retry, the seconds to wait before the next attempt (None: the sweep sends it)."""

    status: str = ""
    retry_in: float | None = None
    reason: str = ""


# --- Exclusivity and claim -----------------------------------------------------------------


@contextmanager
def exclusive(alias: str, action_id: str) -> Iterator[bool]:
    """Hold the action's advisory lock on `alias` (True), or learn that someone does (False)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield True
        return
    key = f"governance.action:{action_id}"
    # A killed worker's session ends a moment after the worker: PostgreSQL releases its lock
    # once it notices. Wait briefly before deciding that the holder is alive.
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
            held = bool(cursor.fetchone()[0])
        if held or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    if not held:
        yield False
        return
    try:
        yield True
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
        except DatabaseError:
            log.warning("governance: the lock of action %s went with its connection", action_id)


def claim(action_id: str, alias: str, now: datetime) -> GovernanceAction | None:
    """Move the action to in progress if this delivery may run it (see the module doc)."""
    abandoned = Q(status=S.IN_PROGRESS)
    if connections[alias].vendor != "postgresql":
        abandoned &= Q(started_at__lt=now - STALE_RUNNING)
    runnable = (
        Q(status=S.PENDING)
        | Q(status=S.RETRYING, next_attempt_at__isnull=True)
        | Q(status=S.RETRYING, next_attempt_at__lte=now + DUE_SLACK)
        | abandoned
    )
    claimed = (
        GovernanceAction.objects.filter(pk=action_id)
        .filter(runnable)
        .update(
            status=S.IN_PROGRESS, attempts=F("attempts") + 1, started_at=now, next_attempt_at=None
        )
    )
    if not claimed:
        return None
    return GovernanceAction.objects.select_related(
        "app_instance", "account", "user", "alert", "policy"
    ).get(pk=action_id)


# --- The run -------------------------------------------------------------------------------


def execute(tenant: Tenant, action_id: str, *, now: datetime | None = None) -> Outcome:
    """One delivery of `governance.execute_action` (inside the tenant's context)."""
    alias = tenant.db_alias
    with exclusive(alias, action_id) as mine:
        if not mine:
            return Outcome(reason="another worker is running it")
        action = claim(action_id, alias, now or timezone.now())
        if action is None:
            return Outcome(reason="finished, not due, or unknown")
        return _run(tenant, action)


def _run(tenant: Tenant, action: GovernanceAction) -> Outcome:
    try:
        result = carry_out(tenant, action)
    except (errors.RateLimited, errors.Unavailable) as exc:
        return _retry_or_fail(action, exc.detail, getattr(exc, "retry_at", None))
    except (ConnectionError, TimeoutError) as exc:
        return _retry_or_fail(action, f"the connection failed ({errors.clip(exc, 120)})", None)
    except errors.ConnectorError as exc:
        return _fail(action, exc.detail)
    except DecryptionError:
        return _fail(action, "the app's stored credentials cannot be opened; enter them again")
    except Exception:
        log.exception("governance action %s failed unexpectedly", action.pk)
        return _fail(action, "unexpected error; the server log has details")
    mark(
        action,
        S.SUCCEEDED,
        result=errors.clip(result, 500),
        error="",
        finished_at=timezone.now(),
        next_attempt_at=None,
    )
    _reflect(action)
    return Outcome(S.SUCCEEDED)


def _reflect(action: GovernanceAction) -> None:
    """Show what a succeeded action changed on our copy now, not only after the next sync or
    file listing: an account's suspension, a file's sharing or quarantine."""
    if action.target_type == "file":
        _reflect_file(action)
        return
    from apps.accounts.models import Account, AccountStatus

    status = {
        GovernanceKind.SUSPEND_USER: AccountStatus.SUSPENDED,
        GovernanceKind.UNSUSPEND_USER: AccountStatus.ACTIVE,
    }.get(action.kind)
    if status is not None and action.account_id is not None:
        Account.objects.filter(pk=action.account_id).exclude(status=AccountStatus.DELETED).update(
            status=status
        )


def _reflect_file(action: GovernanceAction) -> None:
    """The file's record as the app now has it, until the next listing says more: removing
    external sharing leaves internal shares at most (anyone-links count as external and go too),
    making private and quarantining leave no share at all."""
    from apps.dlp.models import AccessLevel, FileRecord

    if action.app_instance_id is None or not action.target_ref:
        return
    records = FileRecord.objects.filter(
        app_instance_id=action.app_instance_id, external_id=action.target_ref
    )
    if action.kind == GovernanceKind.REMOVE_EXTERNAL_SHARING:
        records.filter(access_level__gt=AccessLevel.INTERNAL).update(
            access_level=AccessLevel.INTERNAL
        )
        records.update(external_domains=[])
    elif action.kind == GovernanceKind.MAKE_PRIVATE:
        records.update(access_level=AccessLevel.PRIVATE, external_domains=[])
    elif action.kind == GovernanceKind.QUARANTINE_FILE:
        records.update(access_level=AccessLevel.PRIVATE, external_domains=[], quarantined=True)


def target_of(action: GovernanceAction) -> ActionTarget:
    """The vendor's ids of what the action acts on (the account may have gone since)."""
    account = action.account
    account_id = account.external_id if account is not None else ""
    username = (account.username or account.email) if account is not None else ""
    if action.target_type == "account":
        account_id = account_id or action.target_ref
        username = username or action.target_label
    return ActionTarget(
        kind=action.kind,
        account_id=account_id,
        username=username or str(action.params.get("owner") or ""),
        file_id=action.target_ref if action.target_type == "file" else "",
        client_id=action.target_ref if action.target_type == "oauth_app" else "",
        params=dict(action.params or {}),
    )


def carry_out(tenant: Tenant, action: GovernanceAction) -> str:
    """Do the action; return the vendor's words. Raises a `ConnectorError` when it cannot."""
    if action.kind == GovernanceKind.NOTIFY_USER:
        return notify.send(tenant, action)
    instance = action.app_instance
    if instance is None:
        raise errors.ConnectorError("the app this action was for is no longer connected")
    if adapter_class(instance.vendor) is None:
        raise errors.NotSupported(f"{instance.get_vendor_display()} has no governance actions")
    if not capabilities.can_run(action.kind, instance):
        raise errors.NotSupported(
            f"{instance.get_vendor_display()} ({instance.name}) cannot "
            f"{action.get_kind_display().lower()}"
        )
    cls = adapter_class(instance.vendor)
    with VendorClient() as client:
        adapter = cls(base_url=instance.base_url, credentials=instance.credentials(), client=client)
        return adapter.govern(target_of(action))


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter: 30 s, 1, 2, 4 ... minutes (capped), each 50-100 %."""
    full = min(RETRY_BASE * (2 ** min(max(attempts - 1, 0), 16)), RETRY_CAP)
    return full * random.uniform(0.5, 1.0)  # spreads retries out; not a secret


def _retry_or_fail(action: GovernanceAction, detail: str, retry_at: datetime | None) -> Outcome:
    if action.attempts >= settings.GOVERNANCE_MAX_ATTEMPTS:
        return _fail(action, f"gave up after {action.attempts} attempts: {detail}")
    now = timezone.now()
    wait = backoff(action.attempts)
    if retry_at is not None:
        wait = max(retry_at - now, timedelta(seconds=1))  # the vendor said when
    scheduled = wait <= COUNTDOWN_CAP
    mark(
        action,
        S.RETRYING,
        next_attempt_at=now + wait,
        error=errors.clip(detail, 500),
        dispatched_at=now if scheduled else None,
    )
    return Outcome(S.RETRYING, retry_in=wait.total_seconds() if scheduled else None)


def _fail(action: GovernanceAction, detail: str) -> Outcome:
    mark(
        action,
        S.FAILED,
        error=errors.clip(detail, 500),
        finished_at=timezone.now(),
        next_attempt_at=None,
    )
    return Outcome(S.FAILED)


# --- The sweep (beat: governance.dispatch_due) ---------------------------------------------


def dispatch_due(now: datetime | None = None) -> int:
    """Send again, in every geo database, the actions a message should be running: pending
    ones whose message was lost, retries that are due but did not run, and in-progress ones
    whose worker died. Each is marked (`dispatched_at`) by a conditional update first, so two
    sweeps never both send it, and it is not sent again for `REDISPATCH_AFTER`."""
    from .tasks import execute_action

    now = now or timezone.now()
    sent = 0
    for alias in sorted(geo_aliases() | {"default"}):
        due = (
            GovernanceAction.unscoped_objects.using(alias)
            .exclude(status__in=FINISHED_STATUSES)
            .filter(
                Q(status=S.PENDING)
                | Q(status=S.RETRYING, next_attempt_at__isnull=True)
                | Q(status=S.RETRYING, next_attempt_at__lte=now - RETRY_GRACE)
                | Q(status=S.IN_PROGRESS, started_at__lt=now - STALE_RUNNING)
            )
            .annotate(last_sent=Coalesce("dispatched_at", "created_at"))
            .filter(last_sent__lt=now - REDISPATCH_AFTER)
            .order_by("created_at")
        )
        for pk, tenant_id, dispatched_at in due.values_list("pk", "tenant_id", "dispatched_at")[
            :SWEEP_LIMIT
        ]:
            same = GovernanceAction.unscoped_objects.using(alias).filter(pk=pk)
            same = (
                same.filter(dispatched_at__isnull=True)
                if dispatched_at is None
                else same.filter(dispatched_at=dispatched_at)
            )
            if same.update(dispatched_at=now):
                execute_action.delay(str(tenant_id), str(pk))
                sent += 1
    if sent:
        log.info("governance: sent %s waiting action(s) again", sent)
    return sent
