"""Template context shared by every console page: current tenant, tenants to switch to and
the actions the user may take (so templates hide what the permission module would refuse)."""

from __future__ import annotations

from .models import Tenant


def console(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    tenant = getattr(request, "tenant", None)
    return {
        "tenant": tenant,
        "my_tenants": Tenant.objects.filter(memberships__user=user).order_by("name"),
        "can": {a.name.lower(): True for a in getattr(request, "actions", ())},
    }
