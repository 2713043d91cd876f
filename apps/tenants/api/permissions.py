"""DRF permissions: each asks the one permission module (`apps.tenants.permissions`)."""

from __future__ import annotations

from rest_framework import permissions

from ..models import ApiToken, Tenant
from ..permissions import Action, may


class TenantActionPermission(permissions.BasePermission):
    """The action the HTTP method needs (`read_action` / `write_action` of the view), in the
    token's tenant, capped by the token's role. Deny by default: a view without the attribute
    lets nobody in."""

    def has_permission(self, request, view) -> bool:
        tenant = getattr(request, "tenant", None)
        if tenant is None or not isinstance(request.auth, ApiToken):
            return False
        if request.method in permissions.SAFE_METHODS:
            action = getattr(view, "read_action", None)
        else:
            action = getattr(view, "write_action", None)
        return action is not None and may(request.user, action, tenant, token=request.auth)


def session_user_may_use_api_docs(user) -> bool:
    """A signed-in person who has passed MFA wherever one of their tenants requires it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    needs_mfa = Tenant.objects.filter(memberships__user=user, require_mfa=True).exists()
    verified = getattr(user, "is_verified", None)
    return not needs_mfa or bool(verified and verified())


class SignedInPrincipal(permissions.BasePermission):
    """For the schema and the docs (ASVS 13.4.5: no anonymous API documentation): a valid token
    that may read its tenant, or a signed-in person (see `session_user_may_use_api_docs`)."""

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, ApiToken):
            return may(request.user, Action.VIEW, request.auth.tenant, token=request.auth)
        return session_user_may_use_api_docs(request.user)
