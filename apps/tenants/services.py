"""Writes of the control plane: tenants, memberships and roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from . import audit
from .models import Geo, Membership, Role, Tenant
from .permissions import PRIVATE_VIEWER_ROLES, Action, forget_cached_perms, membership_actions

User = get_user_model()


class LastGlobalAdminError(Exception):
    """Refused: the tenant would be left without a global admin."""


@transaction.atomic
def create_tenant(*, name: str, slug: str, geo: str, owner=None) -> Tenant:
    """Create a tenant; its geo is fixed from now on. `owner` becomes its first global admin."""
    Geo(geo)  # ValueError on an unknown geo
    tenant = Tenant.objects.create(name=name, slug=slug, geo=geo)
    if owner is not None:
        set_role(tenant=tenant, user=owner, role=Role.GLOBAL_ADMIN, actor=None)
    return tenant


def _grant(user, tenant: Tenant, membership: Membership) -> None:
    held = membership_actions(membership.role, membership.may_view_private)
    for action in Action:
        if action in held:
            assign_perm(f"tenants.{action.value}", user, tenant)
        else:
            remove_perm(f"tenants.{action.value}", user, tenant)
    forget_cached_perms(user)


def _global_admins(tenant: Tenant):
    return Membership.objects.filter(tenant=tenant, role=Role.GLOBAL_ADMIN)


@transaction.atomic
def set_role(*, tenant: Tenant, user, role: str, actor, request=None) -> Membership:
    """Give `user` `role` in `tenant` (adding them if needed), as guardian permissions."""
    Role(role)
    membership = Membership.objects.select_for_update().filter(tenant=tenant, user=user).first()
    previous = membership.role if membership else None
    if (
        previous == Role.GLOBAL_ADMIN
        and role != Role.GLOBAL_ADMIN
        and _global_admins(tenant).count() == 1
    ):
        raise LastGlobalAdminError("A tenant needs at least one global admin.")
    if membership is None:
        # A global admin joins the activity-privacy list; others are added to it by one.
        membership = Membership.objects.create(
            tenant=tenant, user=user, role=role, may_view_private=role == Role.GLOBAL_ADMIN
        )
    elif previous != role:
        membership.role = role
        if role not in PRIVATE_VIEWER_ROLES:  # a reader is never on the list
            membership.may_view_private = False
        membership.save(update_fields=["role", "may_view_private"])
    _grant(user, tenant, membership)
    if previous != role:
        audit.record(
            tenant,
            "role.changed" if previous else "member.added",
            actor=actor,
            request=request,
            target=user,
            details={"member": user.get_username(), "from": previous, "to": role},
        )
    return membership


@transaction.atomic
def remove_member(*, tenant: Tenant, user, actor, request=None) -> None:
    membership = Membership.objects.select_for_update().filter(tenant=tenant, user=user).first()
    if membership is None:
        return
    if membership.role == Role.GLOBAL_ADMIN and _global_admins(tenant).count() == 1:
        raise LastGlobalAdminError("A tenant needs at least one global admin.")
    membership.delete()
    for action in Action:
        remove_perm(f"tenants.{action.value}", user, tenant)
    forget_cached_perms(user)
    audit.record(
        tenant,
        "member.removed",
        actor=actor,
        request=request,
        target=user,
        details={"member": user.get_username(), "from": membership.role},
    )


class NotAnAdminError(Exception):
    """Refused: only global and security admins may be on the activity-privacy list."""


@transaction.atomic
def set_private_viewer(*, tenant: Tenant, user, allowed: bool, actor, request=None) -> Membership:
    """Put `user` on the tenant's activity-privacy list (spec 1.6) or take them off it; audited.
    Being on it lets an admin reveal private activities in the console, with a justification."""
    membership = Membership.objects.select_for_update().get(tenant=tenant, user=user)
    if allowed and membership.role not in PRIVATE_VIEWER_ROLES:
        raise NotAnAdminError("Only global admins and security admins may view private activities.")
    if membership.may_view_private != allowed:
        membership.may_view_private = allowed
        membership.save(update_fields=["may_view_private"])
        audit.record(
            tenant,
            "member.private_viewer_added" if allowed else "member.private_viewer_removed",
            actor=actor,
            request=request,
            target=user,
            details={"member": user.get_username(), "role": membership.role},
        )
    _grant(user, tenant, membership)
    return membership
