"""The one answer to "may this user (or token) do action A in tenant T".

Roles are sets of object permissions on the Tenant, held by django-guardian. The console, the
API, forms and templates all ask `may()` (or read `allowed_actions()`); nothing else decides.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from guardian.core import ObjectPermissionChecker

from .models import ApiToken, Role, Tenant


class Action(StrEnum):
    VIEW = "view_tenant_data"
    MANAGE_ALERTS = "manage_alerts"
    MANAGE_POLICIES = "manage_policies"
    RUN_GOVERNANCE = "run_governance"
    MANAGE_DISCOVERY = "manage_discovery"
    DEANONYMIZE = "deanonymize"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_TOKENS = "manage_tokens"
    EXPORT = "export_data"
    VIEW_PRIVATE = "view_private_activities"
    VIEW_AUDIT = "view_audit"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_PORTAL_SECURITY = "manage_portal_security"
    MANAGE_LIFECYCLE = "manage_lifecycle"


_OPERATIONAL = {
    Action.VIEW,
    Action.MANAGE_ALERTS,
    Action.MANAGE_POLICIES,
    Action.RUN_GOVERNANCE,
    Action.MANAGE_DISCOVERY,
    Action.DEANONYMIZE,
    Action.MANAGE_SETTINGS,
    Action.MANAGE_TOKENS,
    Action.EXPORT,
}

# Viewing private activities is not part of a role: it is held by the admins on the tenant's
# activity-privacy list (`Membership.may_view_private`, spec 1.6), see `membership_actions`.
PRIVATE_VIEWER_ROLES = frozenset({Role.GLOBAL_ADMIN, Role.SECURITY_ADMIN})

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.GLOBAL_ADMIN: frozenset(Action) - {Action.VIEW_PRIVATE},
    Role.SECURITY_ADMIN: frozenset(_OPERATIONAL),
    # Readers read everything they may see and can create read-only API tokens (spec 8.1).
    Role.SECURITY_READER: frozenset({Action.VIEW, Action.MANAGE_TOKENS}),
}


def membership_actions(role: str, may_view_private: bool) -> frozenset[Action]:
    """What a member holds: their role's actions, and viewing private activities when they are
    an admin on the activity-privacy list."""
    actions = ROLE_ACTIONS[role]
    if may_view_private and role in PRIVATE_VIEWER_ROLES:
        actions = actions | {Action.VIEW_PRIVATE}
    return actions


# Higher rank = more rights; a token's role may not outrank its creator's.
ROLE_RANK = {Role.SECURITY_READER: 1, Role.SECURITY_ADMIN: 2, Role.GLOBAL_ADMIN: 3}


def _checker(user, cache_holder=None) -> ObjectPermissionChecker:
    holder = cache_holder if cache_holder is not None else user
    checker = getattr(holder, "_casb_perm_checker", None)
    if checker is None:
        checker = ObjectPermissionChecker(user)
        holder._casb_perm_checker = checker
    return checker


def user_actions(user, tenant: Tenant) -> frozenset[Action]:
    """Every action `user` may take in `tenant` (empty for strangers and anonymous)."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_active:
        return frozenset()
    if user.is_superuser:
        # Guardian grants a superuser every permission: in the console they hold what their
        # membership gives, like anyone (the activity-privacy list included).
        from .models import Membership

        membership = Membership.objects.filter(tenant=tenant, user=user).first()
        if membership is None:
            return frozenset()
        return membership_actions(membership.role, membership.may_view_private)
    perms = set(_checker(user).get_perms(tenant))
    return frozenset(action for action in Action if action.value in perms)


def allowed_actions(user, tenant: Tenant, token: ApiToken | None = None) -> frozenset[Action]:
    """What the request's principal may do: a user, or a token capped by its creator."""
    actions = user_actions(user, tenant)
    if token is not None:
        actions = actions & ROLE_ACTIONS[token.role]
    return actions


def may(user, action: Action, tenant: Tenant, token: ApiToken | None = None) -> bool:
    return action in allowed_actions(user, tenant, token)


def role_actions(role: str) -> frozenset[Action]:
    return ROLE_ACTIONS[role]


def forget_cached_perms(user) -> None:
    """Drop the per-object cache after a role change within the same request."""
    if hasattr(user, "_casb_perm_checker"):
        del user._casb_perm_checker
