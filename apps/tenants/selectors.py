"""Reads of the tenants app."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.urls import reverse

from .models import Membership, Tenant
from .permissions import Action
from .search import SearchHit, register


def memberships(tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant=tenant).select_related("user")


def tenants_of(user) -> QuerySet[Tenant]:
    return Tenant.objects.filter(memberships__user=user).order_by("name")


@register("Members")
def search_members(request, query: str) -> list[SearchHit]:
    if Action.VIEW not in request.actions:
        return []
    rows = memberships(request.tenant).filter(
        Q(user__username__icontains=query)
        | Q(user__email__icontains=query)
        | Q(user__first_name__icontains=query)
        | Q(user__last_name__icontains=query)
    )[:20]
    url = reverse("tenants:members", args=[request.tenant.slug])
    return [
        SearchHit(
            "Members",
            m.user.get_full_name() or m.user.get_username(),
            f"{m.user.email} · {m.get_role_display()}",
            url,
        )
        for m in rows
    ]
