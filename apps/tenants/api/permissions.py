"""DRF permission: the action a method needs, asked of the one permission module."""

from __future__ import annotations

from rest_framework import permissions

from ..permissions import may


class TenantActionPermission(permissions.BasePermission):
    """Deny by default: a view without `read_action` lets nobody in."""

    def has_permission(self, request, view) -> bool:
        tenant = getattr(request, "tenant", None)
        if tenant is None or request.auth is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            action = getattr(view, "read_action", None)
        else:
            action = getattr(view, "write_action", None)
        return action is not None and may(request.user, action, tenant, token=request.auth)
