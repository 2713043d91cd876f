"""Reads of the users-and-accounts pages: people with their accounts, one person's entity
page, and the search-bar providers for people, accounts and connected apps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse

from apps.activities.selectors import log_url
from apps.connectors.models import AppInstance
from apps.tenants.permissions import Action
from apps.tenants.search import SearchHit, register

from .models import Account, CloudUser, GroupMembership, UserGroup


def accounts() -> QuerySet[Account]:
    """The current tenant's accounts with their app and person (no N+1)."""
    return Account.objects.select_related("app_instance", "user")


def people() -> QuerySet[CloudUser]:
    """The current tenant's people, each with their accounts (and the accounts' apps and
    group memberships) fetched in three more queries whatever the page size."""
    return CloudUser.objects.prefetch_related(
        Prefetch(
            "accounts",
            queryset=Account.objects.select_related("app_instance").order_by(
                "app_instance__name", "username"
            ),
        ),
        Prefetch(
            "accounts__memberships",
            queryset=GroupMembership.objects.select_related("group"),
        ),
    )


def person(user_id: uuid.UUID) -> CloudUser:
    """One person of the current tenant, or 404 (the same for another tenant's)."""
    return get_object_or_404(people(), pk=user_id)


@dataclass
class PersonView:
    """What the list and the entity page show of a person, computed from prefetched rows."""

    person: CloudUser
    accounts: list[Account]
    apps: list[str]
    groups: list[UserGroup]
    is_admin: bool


def person_view(item: CloudUser) -> PersonView:
    owned = list(item.accounts.all())
    groups: dict[uuid.UUID, UserGroup] = {}
    for account in owned:
        for membership in account.memberships.all():
            # Groups are per app (each app has its own "Engineering"): say which app's it is.
            membership.group.app_label = account.app_instance.name
            groups.setdefault(membership.group_id, membership.group)
    return PersonView(
        person=item,
        accounts=owned,
        apps=sorted({account.app_instance.name for account in owned}),
        groups=sorted(groups.values(), key=lambda g: (g.name.lower(), g.app_label)),
        is_admin=any(account.is_admin for account in owned),
    )


def entity_url(tenant_slug: str, user_id: uuid.UUID) -> str:
    return reverse("accounts:detail", args=[tenant_slug, user_id])


# --- Search bar --------------------------------------------------------------------------------


@register("People")
def search_people(request, text: str) -> list[SearchHit]:
    """People by name, email or UPN -> their entity page."""
    if Action.VIEW not in request.actions:
        return []
    rows = CloudUser.objects.filter(
        Q(display_name__icontains=text) | Q(identity__icontains=text) | Q(email__icontains=text)
    ).order_by("display_name", "identity")[:20]
    return [
        SearchHit(
            "People",
            str(row),
            row.identity + (" · external" if row.is_external else ""),
            entity_url(request.tenant.slug, row.id),
        )
        for row in rows
    ]


@register("Accounts")
def search_accounts(request, text: str) -> list[SearchHit]:
    """Per-app accounts by user name, email or the app's id -> the person's page, or the log
    of that account when it is not joined to a person (e.g. a service account)."""
    if Action.VIEW not in request.actions:
        return []
    rows = (
        accounts()
        .filter(
            Q(username__icontains=text)
            | Q(email__icontains=text)
            | Q(display_name__icontains=text)
            | Q(external_id__iexact=text)
        )
        .order_by("username")[:20]
    )
    slug = request.tenant.slug
    return [
        SearchHit(
            "Accounts",
            str(row),
            f"{row.app_instance.name} · {row.get_status_display()}",
            entity_url(slug, row.user_id) if row.user_id else log_url(slug, account=row.id),
        )
        for row in rows
    ]


@register("Apps")
def search_apps(request, text: str) -> list[SearchHit]:
    """Connected apps by name -> the activity log of that app."""
    if Action.VIEW not in request.actions:
        return []
    rows = AppInstance.objects.filter(name__icontains=text).order_by("name")[:20]
    return [
        SearchHit(
            "Apps",
            row.name,
            f"{row.get_vendor_display()} · {row.get_status_display()}",
            log_url(request.tenant.slug, app=row.id),
        )
        for row in rows
    ]
