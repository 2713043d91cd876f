"""Writes of file policies (`alerts.Policy`, kind `file`): create, change, switch, delete.

Console and API alike call these; each takes the tenant and the actor as keywords, checks
everything first (`policy_checks`), and writes the change and its audit record in one
transaction. A refusal is `PolicyRefused({field: [reasons]})` and writes nothing; going over
the 50 file policies of a tenant is `TooManyPolicies` (the API's 409).
"""

from __future__ import annotations

from django.db import IntegrityError, connections, transaction

from apps.alerts.models import Policy, PolicyKind
from apps.alerts.policy_checks import PolicyRefused, free_name
from apps.tenants import audit
from apps.tenants.models import Tenant
from apps.tenants.scoping import tenant_context

from .policy_checks import DEFAULTS, FIELDS, MAX_FILE_POLICIES, clean_file_policy

__all__ = [
    "DEFAULTS",
    "PolicyRefused",
    "TooManyPolicies",
    "create_policy",
    "delete_policy",
    "free_name",
    "set_enabled",
    "update_policy",
]


class TooManyPolicies(PolicyRefused):
    """The tenant has its 50 file policies already (spec 9.4)."""

    def __init__(self):
        super().__init__(
            {
                "non_field_errors": [
                    f"A tenant has at most {MAX_FILE_POLICIES} file policies; delete one you "
                    "no longer need first."
                ]
            }
        )


def snapshot(policy: Policy) -> dict:
    return {key: getattr(policy, key) for key in FIELDS}


def _user_id(actor) -> int | None:
    creator = getattr(actor, "created_by", None)
    if creator is not None:
        return creator.pk
    return actor.pk if getattr(actor, "is_authenticated", False) else None


def _name_taken() -> PolicyRefused:
    return PolicyRefused({"name": ["A policy with this name already exists; pick another name."]})


def _lock_count(tenant: Tenant) -> None:
    """Serialise file policy creation per tenant, so two at once cannot pass the limit."""
    connection = connections[tenant.db_alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"dlp.file_policies:{tenant.pk}"],
            )


def _file_policy(policy: Policy) -> None:
    if policy.kind != PolicyKind.FILE:
        raise PolicyRefused({"kind": ["Not a file policy."]})


def create_policy(*, tenant: Tenant, actor, request=None, **values) -> Policy:
    """Create a file policy (enabled unless `enabled=False`); it applies to files scanned
    from now on."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise PolicyRefused({key: ["Not a field of a file policy."] for key in sorted(unknown)})
    try:
        with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
            _lock_count(tenant)
            if Policy.objects.filter(kind=PolicyKind.FILE).count() >= MAX_FILE_POLICIES:
                raise TooManyPolicies()
            fields = clean_file_policy({**DEFAULTS, **values}, current=None)
            policy = Policy(kind=PolicyKind.FILE, **fields)
            policy.created_by_id = _user_id(actor)
            policy.save(force_insert=True)
            audit.record(
                tenant,
                "file_policy.created",
                actor=actor,
                request=request,
                target=policy,
                details=fields,
            )
    except IntegrityError as exc:
        raise _name_taken() from exc
    return policy


def update_policy(*, tenant: Tenant, actor, policy: Policy, request=None, **changes) -> Policy:
    """Change any fields of a file policy; audited with what changed (from -> to)."""
    _file_policy(policy)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise PolicyRefused({key: ["Not a field of a file policy."] for key in sorted(unknown)})
    try:
        with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
            policy = Policy.objects.select_for_update().get(pk=policy.pk, kind=PolicyKind.FILE)
            before = snapshot(policy)
            fields = clean_file_policy({**before, **changes}, current=policy)
            changed = {
                k: {"from": before[k], "to": v} for k, v in fields.items() if before.get(k) != v
            }
            if not changed:
                return policy
            for key in changed:
                setattr(policy, key, fields[key])
            policy.save(update_fields=[*changed, "updated_at"])
            audit.record(
                tenant,
                "file_policy.updated",
                actor=actor,
                request=request,
                target=policy,
                details={"name": policy.name, "changes": changed},
            )
    except IntegrityError as exc:
        raise _name_taken() from exc
    return policy


def delete_policy(*, tenant: Tenant, actor, policy: Policy, request=None) -> None:
    """Delete a file policy; its alerts and governance log entries stay, under its name."""
    _file_policy(policy)
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        audit.record(
            tenant,
            "file_policy.deleted",
            actor=actor,
            request=request,
            target=policy,
            details=snapshot(policy),
        )
        Policy.objects.filter(pk=policy.pk, kind=PolicyKind.FILE).delete()


def set_enabled(*, tenant: Tenant, actor, policy: Policy, enabled: bool, request=None) -> Policy:
    """Switch a file policy on or off (a no-op when it already is)."""
    _file_policy(policy)
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        policy = Policy.objects.select_for_update().get(pk=policy.pk, kind=PolicyKind.FILE)
        if policy.enabled == enabled:
            return policy
        policy.enabled = enabled
        policy.save(update_fields=["enabled", "updated_at"])
        audit.record(
            tenant,
            f"file_policy.{'enabled' if enabled else 'disabled'}",
            actor=actor,
            request=request,
            target=policy,
            details={"name": policy.name},
        )
    return policy
