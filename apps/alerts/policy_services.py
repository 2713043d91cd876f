"""Writes of policies: activity policies and the tenant's settings of the built-in detections.

Console and API alike call these; each takes the tenant and the actor as keywords, checks
everything before writing, and writes the change and its audit record in one transaction.
A refusal is `PolicyRefused({field: [reasons]})` and writes nothing.

Rules of an activity policy:
- a name, unique in the tenant (case-insensitive; built-in detections' names are taken);
- filters in the activity log's language (`apps.activities.query`), refused with the compiler's
  own per-field reasons; no time fields (`date`, `created`): a policy looks at each activity as
  it arrives, so "when" is the repeated-activity window's job;
- repeated activity: 2 to 10,000 matches within 1 minute to 7 days (a single-activity policy
  stores count 1 and the default window);
- a daily alert limit of 1 to 1,000, a de-duplication window of 1 minute to 7 days;
- scope: ids of this tenant's user groups; governance: `GovernanceKind` values.

A built-in detection (`kind=anomaly`) keeps its name and logic; its settings are on/off,
severity, scope, governance and its options, checked by the detection's `clean_options`.
Changing what a repeated policy counts (filters, scope, count, window, grouping) drops its
match windows, so matches counted under the old rules do not count towards the new ones.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from apps.tenants import audit
from apps.tenants.models import Tenant
from apps.tenants.scoping import tenant_context

from . import evaluation
from .models import MatchWindow, Policy, PolicyKind
from .policy_checks import (
    ACTIVITY_FIELDS,
    DEFAULTS,
    DETECTION_FIELDS,
    PolicyRefused,
    check_filters,
    clean_activity,
    clean_detection,
    free_name,
)

__all__ = [
    "DEFAULTS",
    "PolicyRefused",
    "check_filters",
    "create_policy",
    "delete_policy",
    "ensure_detections",
    "free_name",
    "set_enabled",
    "update_detection",
    "update_policy",
]

log = logging.getLogger(__name__)

_COUNTING = {
    "filters",
    "mode",
    "repeat_count",
    "repeat_window_minutes",
    "repeat_per_user",
    "repeat_per_app",
    "include_groups",
    "exclude_groups",
}


def snapshot(policy: Policy) -> dict:
    """The policy's settable fields (what the audit log compares)."""
    fields = ACTIVITY_FIELDS if policy.kind == PolicyKind.ACTIVITY else DETECTION_FIELDS
    return {key: getattr(policy, key) for key in fields}


def _changes(before: dict, after: dict) -> dict:
    return {k: {"from": before[k], "to": v} for k, v in after.items() if before.get(k) != v}


def _user_id(actor) -> int | None:
    """The portal user behind `actor` (a user, or an API token acting for its creator)."""
    creator = getattr(actor, "created_by", None)
    if creator is not None:
        return creator.pk
    return actor.pk if getattr(actor, "is_authenticated", False) else None


def _name_taken(exc: IntegrityError) -> PolicyRefused:
    return PolicyRefused({"name": ["A policy with this name already exists; pick another name."]})


# --- Activity policies -------------------------------------------------------------------------


def create_policy(*, tenant: Tenant, actor, request=None, **values) -> Policy:
    """Create an activity policy (enabled unless `enabled=False`); it sees new activities."""
    unknown = set(values) - set(ACTIVITY_FIELDS)
    if unknown:
        raise PolicyRefused({key: ["Not a field of an activity policy."] for key in unknown})
    try:
        with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
            fields = clean_activity(tenant, {**DEFAULTS, **values}, current=None)
            policy = Policy(kind=PolicyKind.ACTIVITY, **fields)
            policy.created_by_id = _user_id(actor)
            policy.save(force_insert=True)
            audit.record(
                tenant,
                "policy.created",
                actor=actor,
                request=request,
                target=policy,
                details=fields,
            )
    except IntegrityError as exc:
        raise _name_taken(exc) from exc
    return policy


def update_policy(*, tenant: Tenant, actor, policy: Policy, request=None, **changes) -> Policy:
    """Change any fields of an activity policy; audited with what changed (from -> to)."""
    if policy.kind != PolicyKind.ACTIVITY:
        raise PolicyRefused({"kind": ["A built-in detection changes through its settings."]})
    unknown = set(changes) - set(ACTIVITY_FIELDS)
    if unknown:
        raise PolicyRefused({key: ["Not a field of an activity policy."] for key in unknown})
    try:
        with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
            policy = Policy.objects.select_for_update().get(pk=policy.pk)
            before = snapshot(policy)
            fields = clean_activity(tenant, {**before, **changes}, current=policy)
            changed = _changes(before, fields)
            if not changed:
                return policy
            for key in changed:
                setattr(policy, key, fields[key])
            policy.save(update_fields=[*changed, "updated_at"])
            if _COUNTING & set(changed):
                MatchWindow.objects.filter(policy=policy).delete()
            audit.record(
                tenant,
                "policy.updated",
                actor=actor,
                request=request,
                target=policy,
                details={"name": policy.name, "changes": changed},
            )
    except IntegrityError as exc:
        raise _name_taken(exc) from exc
    return policy


def delete_policy(*, tenant: Tenant, actor, policy: Policy, request=None) -> None:
    """Delete an activity policy; its alerts stay (they keep the policy's name)."""
    if policy.kind != PolicyKind.ACTIVITY:
        raise PolicyRefused(
            {"kind": ["Built-in detections cannot be deleted; switch them off instead."]}
        )
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        audit.record(
            tenant,
            "policy.deleted",
            actor=actor,
            request=request,
            target=policy,
            details=snapshot(policy),
        )
        Policy.objects.filter(pk=policy.pk).delete()


def set_enabled(*, tenant: Tenant, actor, policy: Policy, enabled: bool, request=None) -> Policy:
    """Switch a policy or a built-in detection on or off (a no-op when it already is)."""
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        policy = Policy.objects.select_for_update().get(pk=policy.pk)
        if policy.enabled == enabled:
            return policy
        policy.enabled = enabled
        policy.save(update_fields=["enabled", "updated_at"])
        what = "detection" if policy.kind == PolicyKind.ANOMALY else "policy"
        audit.record(
            tenant,
            f"{what}.{'enabled' if enabled else 'disabled'}",
            actor=actor,
            request=request,
            target=policy,
            details={"name": policy.name},
        )
    return policy


# --- Built-in detections -----------------------------------------------------------------------


def ensure_detections(tenant: Tenant) -> None:
    """Make sure every built-in detection has its settings row (called where they are listed)."""
    with tenant_context(tenant):
        try:
            with transaction.atomic(using=tenant.db_alias):
                evaluation.ensure_detection_policies(tenant)
        except IntegrityError:
            # Another request created the rows first; the next listing sees them.
            log.warning("detection rows of tenant %s: created concurrently", tenant.pk)


def update_detection(*, tenant: Tenant, actor, policy: Policy, request=None, **changes) -> Policy:
    """Change a built-in detection's settings: on/off, severity, scope, governance, tuning."""
    if policy.kind != PolicyKind.ANOMALY:
        raise PolicyRefused({"kind": ["Not a built-in detection."]})
    fixed = set(changes) - set(DETECTION_FIELDS)
    if fixed:
        reason = (
            "A built-in detection keeps its name and logic; only "
            + ", ".join(DETECTION_FIELDS)
            + " can be changed."
        )
        raise PolicyRefused({key: [reason] for key in sorted(fixed)})
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        policy = Policy.objects.select_for_update().get(pk=policy.pk)
        before = snapshot(policy)
        fields = clean_detection(policy, {**before, **changes}, tuning=changes.get("tuning"))
        changed = _changes(before, fields)
        if not changed:
            return policy
        for key in changed:
            setattr(policy, key, fields[key])
        policy.save(update_fields=[*changed, "updated_at"])
        audit.record(
            tenant,
            "detection.updated",
            actor=actor,
            request=request,
            target=policy,
            details={"name": policy.name, "detector": policy.detector, "changes": changed},
        )
    return policy
