"""Writes of alert triage: status, resolution, dismissal, assignee and read state, one by one or
in bulk. The console, the API and the bulk form all come through here.

Lifecycle (spec 2.2): open <-> in progress; either closes as *resolved* (with a resolution: true
positive, benign true positive or false positive, a reason from that resolution's list and an
optional comment) or *dismissed* (optional comment); a closed alert is reopened to open or in
progress, which clears its resolution. Anything else is refused with `AlertRefused` naming the
field and the reason, before anything is written.

Every change is audited (`alert.*`, target = the alert); a call that changes nothing writes
nothing. Each change locks the alert row, so two admins (or an admin and the evaluator folding a
new trigger) never lose each other's update. Who may call: `Action.MANAGE_ALERTS`, checked by the
views and viewsets (readers cannot triage, spec 8.2).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from apps.tenants import audit
from apps.tenants.models import Membership, Tenant
from apps.tenants.permissions import Action, role_actions
from apps.tenants.scoping import tenant_context

from .models import RESOLUTION_REASONS, Alert, AlertStatus, Resolution

COMMENT_MAX_LENGTH = 2000
MAX_BULK = 500

# What an explicit status change may ask for; closing goes through resolve() / dismiss().
SETTABLE_STATUSES = (AlertStatus.OPEN, AlertStatus.IN_PROGRESS)
_RESOLUTION_FIELDS = [
    "status",
    "resolution",
    "resolution_reason",
    "comment",
    "resolved_by_id",
    "resolved_by_label",
    "resolved_at",
    "updated_at",
]


class AlertRefused(ValueError):
    """Bad triage input: field name -> the reason in plain words."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


# --- Validation (shared by single and bulk operations) ------------------------------------------


def clean_comment(comment: str | None) -> str:
    comment = (comment or "").replace("\x00", "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise AlertRefused({"comment": f"Keep the comment under {COMMENT_MAX_LENGTH} characters."})
    return comment


def clean_resolution(resolution: str | None, reason: str | None) -> tuple[str, str]:
    """The (resolution, reason) pair, or AlertRefused: the reason must be one of that
    resolution's reasons (spec 2.2: benign and false positive each have their own list)."""
    if resolution not in RESOLUTION_REASONS:
        raise AlertRefused(
            {"resolution": "Give one of: " + ", ".join(str(r) for r in RESOLUTION_REASONS) + "."}
        )
    reasons = RESOLUTION_REASONS[resolution]
    if not reason:
        raise AlertRefused({"reason": "Give the reason for this resolution."})
    if reason not in reasons:
        raise AlertRefused(
            {
                "reason": f"Not a reason of {Resolution(resolution).label.lower()}; give one of: "
                + ", ".join(reasons)
                + "."
            }
        )
    return str(resolution), reason


def clean_status(status: str | None) -> str:
    if status not in SETTABLE_STATUSES:
        raise AlertRefused(
            {
                "status": "Give open or in_progress; close an alert by resolving it (with a "
                "resolution) or dismissing it."
            }
        )
    return str(status)


@dataclass(frozen=True)
class Assignee:
    """Who an alert goes to: a portal user id and the name shown (None, "" = nobody)."""

    user_id: int | None
    label: str


NOBODY = Assignee(None, "")


def _person_of(actor):
    """The portal user behind `actor` (an API token acts for its creator)."""
    return getattr(actor, "created_by", None) or actor


def _user_label(user) -> str:
    return (user.get_full_name() or user.get_username())[:254]


def clean_assignee(tenant: Tenant, user_id: int | None) -> Assignee:
    """A member of `tenant` whose role may triage alerts, or AlertRefused. None: nobody."""
    if user_id is None:
        return NOBODY
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise AlertRefused({"assignee": "Give the id of a member (a whole number), or null."})
    membership = (
        Membership.objects.filter(tenant=tenant, user_id=user_id, user__is_active=True)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise AlertRefused({"assignee": "Not a member of this tenant."})
    if Action.MANAGE_ALERTS not in role_actions(membership.role):
        raise AlertRefused(
            {"assignee": f"A {membership.get_role_display().lower()} cannot triage alerts."}
        )
    return Assignee(membership.user.pk, _user_label(membership.user))


def assignable_members(tenant: Tenant) -> list[Membership]:
    """Members an alert may be assigned to (their role may triage alerts)."""
    rows = Membership.objects.filter(tenant=tenant, user__is_active=True).select_related("user")
    return [m for m in rows if Action.MANAGE_ALERTS in role_actions(m.role)]


# --- The changes, on a locked row ---------------------------------------------------------------


def _audit(tenant, action: str, alert: Alert, actor, request, **details) -> None:
    audit.record(
        tenant,
        action,
        actor=actor,
        request=request,
        target=alert,
        details={"number": alert.number, **details},
    )


def _set_status(tenant, alert: Alert, status: str, actor, request) -> bool:
    if alert.status == status:
        return False
    before = alert.status
    reopening = not alert.is_open
    alert.status = status
    if reopening:
        # A reopened alert is undecided again; the audit log keeps what it was closed as.
        alert.resolution = Resolution.NONE
        alert.resolution_reason = alert.comment = ""
        alert.resolved_by_id, alert.resolved_by_label, alert.resolved_at = None, "", None
        alert.save(update_fields=_RESOLUTION_FIELDS)
    else:
        alert.save(update_fields=["status", "updated_at"])
    action = "alert.reopened" if reopening else "alert.status_changed"
    _audit(tenant, action, alert, actor, request, status=status, was=before)
    return True


def _close(tenant, alert, actor, request, *, status, resolution="", reason="", comment="") -> bool:
    if not alert.is_open:
        return False  # already closed: reopen it first to change how it was closed
    person = _person_of(actor)
    alert.status = status
    alert.resolution, alert.resolution_reason, alert.comment = resolution, reason, comment
    alert.resolved_by_id = getattr(person, "pk", None)
    alert.resolved_by_label = _user_label(person) if person is not None else "system"
    alert.resolved_at = timezone.now()
    alert.save(update_fields=_RESOLUTION_FIELDS)
    if status == AlertStatus.RESOLVED:
        details = {"resolution": resolution, "reason": reason, "comment": comment}
        _audit(tenant, "alert.resolved", alert, actor, request, **details)
    else:
        _audit(tenant, "alert.dismissed", alert, actor, request, comment=comment)
    return True


def _assign(tenant, alert: Alert, assignee: Assignee, actor, request) -> bool:
    if alert.assignee_id == assignee.user_id:
        return False
    before = alert.assignee_label
    alert.assignee_id, alert.assignee_label = assignee.user_id, assignee.label
    alert.save(update_fields=["assignee_id", "assignee_label", "updated_at"])
    if assignee.user_id is None:
        _audit(tenant, "alert.unassigned", alert, actor, request, was=before)
    else:
        _audit(tenant, "alert.assigned", alert, actor, request, assignee=assignee.label)
    return True


def _mark(tenant, alert: Alert, read: bool, actor, request) -> bool:
    if alert.read == read:
        return False
    alert.read = read
    alert.save(update_fields=["read", "updated_at"])
    _audit(tenant, "alert.read" if read else "alert.unread", alert, actor, request)
    return True


def _locked(alert: Alert) -> Alert:
    """The alert's row, re-read under a row lock (call inside the transaction)."""
    return Alert.objects.select_for_update().get(pk=alert.pk)


# --- Public single-alert operations -------------------------------------------------------------


def change_status(*, tenant: Tenant, actor, alert: Alert, status: str, request=None) -> Alert:
    """Open <-> in progress, or reopen a closed alert (to open or in progress)."""
    status = clean_status(status)
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        row = _locked(alert)
        _set_status(tenant, row, status, actor, request)
    return row


def resolve(
    *,
    tenant: Tenant,
    actor,
    alert: Alert,
    resolution: str,
    reason: str,
    comment: str = "",
    request=None,
) -> Alert:
    """Close as true positive, benign true positive or false positive, with its reason."""
    resolution, reason = clean_resolution(resolution, reason)
    comment = clean_comment(comment)
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        row = _locked(alert)
        if not row.is_open:
            raise AlertRefused({"status": "The alert is already closed; reopen it first."})
        _close(
            tenant,
            row,
            actor,
            request,
            status=AlertStatus.RESOLVED,
            resolution=resolution,
            reason=reason,
            comment=comment,
        )
    return row


def dismiss(*, tenant: Tenant, actor, alert: Alert, comment: str = "", request=None) -> Alert:
    """Close without a verdict (not worth working on); the comment says why."""
    comment = clean_comment(comment)
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        row = _locked(alert)
        if not row.is_open:
            raise AlertRefused({"status": "The alert is already closed; reopen it first."})
        _close(tenant, row, actor, request, status=AlertStatus.DISMISSED, comment=comment)
    return row


def assign(*, tenant: Tenant, actor, alert: Alert, assignee_id: int | None, request=None) -> Alert:
    """Give the alert to a member who may triage alerts (None: unassign)."""
    assignee = clean_assignee(tenant, assignee_id)
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        row = _locked(alert)
        _assign(tenant, row, assignee, actor, request)
    return row


def mark_read(*, tenant: Tenant, actor, alert: Alert, read: bool = True, request=None) -> Alert:
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        row = _locked(alert)
        _mark(tenant, row, bool(read), actor, request)
    return row


# --- Bulk ---------------------------------------------------------------------------------------


class Operation:
    """The bulk operations (console form and `POST /api/v1/alerts/bulk/`)."""

    OPEN = "open"  # also reopens closed alerts
    IN_PROGRESS = "in_progress"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    READ = "read"
    UNREAD = "unread"

    CHOICES = [
        (IN_PROGRESS, "Set in progress"),
        (OPEN, "Set open (reopen)"),
        (RESOLVE, "Resolve"),
        (DISMISS, "Dismiss"),
        (ASSIGN, "Assign"),
        (UNASSIGN, "Unassign"),
        (READ, "Mark read"),
        (UNREAD, "Mark unread"),
    ]
    VALUES = [value for value, _ in CHOICES]


@dataclass
class BulkResult:
    """What a bulk operation did: alerts changed, found but left as they were (already so, or
    closed when resolving / dismissing), and ids not found in this tenant."""

    changed: int = 0
    unchanged: int = 0
    not_found: list[str] = field(default_factory=list)


def bulk_apply(
    *,
    tenant: Tenant,
    actor,
    ids: Iterable[uuid.UUID | str],
    operation: str,
    resolution: str = "",
    reason: str = "",
    comment: str = "",
    assignee_id: int | None = None,
    request=None,
) -> BulkResult:
    """Apply one operation to the alerts `ids` of `tenant`, all in one transaction.

    The operation's input is checked first (a bad reason refuses the whole request, nothing is
    written). Ids of another tenant are simply not found, exactly like ids that do not exist.
    """
    wanted = list(dict.fromkeys(str(i) for i in ids))
    if not wanted:
        raise AlertRefused({"ids": "Select at least one alert."})
    if len(wanted) > MAX_BULK:
        raise AlertRefused({"ids": f"At most {MAX_BULK} alerts at a time."})
    try:
        keys = [uuid.UUID(value) for value in wanted]
    except ValueError as exc:
        raise AlertRefused({"ids": "Every id must be an alert id (a UUID)."}) from exc
    apply = _bulk_operation(tenant, operation, resolution, reason, comment, assignee_id, actor)
    result = BulkResult()
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        # Locked in a fixed order, so two bulk requests over the same rows cannot deadlock.
        rows = list(Alert.objects.select_for_update().filter(pk__in=keys).order_by("pk"))
        found = {str(row.pk) for row in rows}
        result.not_found = [str(key) for key in keys if str(key) not in found]
        for row in rows:
            if apply(row, request):
                result.changed += 1
            else:
                result.unchanged += 1
    return result


def _bulk_operation(tenant, operation, resolution, reason, comment, assignee_id, actor):
    """The per-row change of `operation`, its input already checked (or AlertRefused)."""
    if operation in (Operation.OPEN, Operation.IN_PROGRESS):
        return lambda row, request: _set_status(tenant, row, operation, actor, request)
    if operation == Operation.RESOLVE:
        resolution, reason = clean_resolution(resolution, reason)
        comment = clean_comment(comment)
        return lambda row, request: _close(
            tenant,
            row,
            actor,
            request,
            status=AlertStatus.RESOLVED,
            resolution=resolution,
            reason=reason,
            comment=comment,
        )
    if operation == Operation.DISMISS:
        comment = clean_comment(comment)
        return lambda row, request: _close(
            tenant, row, actor, request, status=AlertStatus.DISMISSED, comment=comment
        )
    if operation in (Operation.ASSIGN, Operation.UNASSIGN):
        if operation == Operation.ASSIGN and assignee_id is None:
            raise AlertRefused({"assignee": "Pick the member to assign the alerts to."})
        who = clean_assignee(tenant, assignee_id if operation == Operation.ASSIGN else None)
        return lambda row, request: _assign(tenant, row, who, actor, request)
    if operation in (Operation.READ, Operation.UNREAD):
        read = operation == Operation.READ
        return lambda row, request: _mark(tenant, row, read, actor, request)
    raise AlertRefused({"operation": "Give one of: " + ", ".join(Operation.VALUES) + "."})
