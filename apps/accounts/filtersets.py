"""FilterSets of the users-and-accounts list, shared by the console page and the API.

Two lists, one vocabulary (spec 1.7): the people (`PersonFilterSet`) and their per-app accounts
(`AccountFilterSet`) take the same parameters, so the console's "People / Accounts" switch
keeps the filters. A person matches an account filter (app, status, admin, group) when any of
their accounts does. Build them over querysets already scoped to the tenant.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.activities.filtersets import StrictBooleanFilter
from apps.connectors.models import AppInstance
from apps.tenants.scoping import current_tenant_or_none

from .models import Account, AccountStatus, CloudUser, GroupMembership, UserGroup

LAST_SEEN = [
    ("7d", "Seen in the last 7 days"),
    ("30d", "Seen in the last 30 days"),
    ("idle30", "Not seen for 30 days"),
    ("idle90", "Not seen for 90 days"),
    ("never", "Never seen"),
]


def last_seen_q(value: str, column: str = "last_seen") -> Q:
    now = timezone.now()
    days = {"7d": 7, "30d": 30, "idle30": 30, "idle90": 90}.get(value)
    if value == "never":
        return Q(**{f"{column}__isnull": True})
    if value.startswith("idle"):
        # Dormant: seen once, but not lately (spec 1.7's licence-reclaim use case).
        return Q(**{f"{column}__lt": now - dt.timedelta(days=days)})
    return Q(**{f"{column}__gte": now - dt.timedelta(days=days)})


def _domain(value: str) -> str:
    return "@" + value.strip().lower().lstrip("@")


class _DirectoryFilterSet(django_filters.FilterSet):
    """The filters both lists share; subclasses say how each applies to their rows."""

    q = django_filters.CharFilter(
        method="filter_q",
        label="Name",
        help_text="Part of a name, email or user name.",
        max_length=200,
    )
    app = django_filters.UUIDFilter(
        method="filter_app", label="App", help_text="Id of a connected app.", widget=forms.Select
    )
    status = django_filters.ChoiceFilter(
        choices=AccountStatus.choices, method="filter_status", label="Status", empty_label="Any"
    )
    admin = StrictBooleanFilter(method="filter_admin", label="Admins")
    domain = django_filters.CharFilter(
        method="filter_domain", label="Domain", help_text="e.g. contoso.com", max_length=200
    )
    external = StrictBooleanFilter(method="filter_external", label="External")
    group = django_filters.UUIDFilter(
        method="filter_group", label="Group", help_text="Id of a group.", widget=forms.Select
    )
    last_seen = django_filters.ChoiceFilter(
        choices=LAST_SEEN, method="filter_last_seen", label="Last seen", empty_label="Any"
    )

    def fill_choices(self):
        """Fill the console's drop-downs with the tenant's apps and groups (presentation only:
        an id of another tenant is accepted by the field and simply matches nothing in the
        scoped queryset). The API does not need them."""
        if current_tenant_or_none() is not None:
            apps = AppInstance.objects.order_by("name").values_list("id", "name")
            self.form.fields["app"].widget.choices = [("", "Any"), *apps]
            groups = UserGroup.objects.order_by("name").values_list("id", "name")[:500]
            self.form.fields["group"].widget.choices = [("", "Any"), *groups]
        return self


class PersonFilterSet(_DirectoryFilterSet):
    class Meta:
        model = CloudUser
        fields: list[str] = []

    @staticmethod
    def _has_account(queryset: QuerySet, **lookup) -> QuerySet:
        return queryset.filter(Exists(Account.objects.filter(user_id=OuterRef("pk"), **lookup)))

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(display_name__icontains=value)
            | Q(identity__icontains=value)
            | Q(email__icontains=value)
            | Exists(
                Account.objects.filter(user_id=OuterRef("pk")).filter(
                    Q(username__icontains=value) | Q(email__icontains=value)
                )
            )
        )

    def filter_app(self, queryset, name, value):
        return self._has_account(queryset, app_instance_id=value)

    def filter_status(self, queryset, name, value):
        return self._has_account(queryset, status=value)

    def filter_admin(self, queryset, name, value):
        admins = Exists(Account.objects.filter(user_id=OuterRef("pk"), is_admin=True))
        return queryset.filter(admins) if value else queryset.exclude(admins)

    def filter_domain(self, queryset, name, value):
        return queryset.filter(identity__iendswith=_domain(value)) if value.strip() else queryset

    def filter_external(self, queryset, name, value):
        return queryset.filter(is_external=value)

    def filter_group(self, queryset, name, value):
        members = GroupMembership.objects.filter(group_id=value).values("account_id")
        return self._has_account(queryset, pk__in=members)

    def filter_last_seen(self, queryset, name, value: str):
        return queryset.filter(last_seen_q(value))


class AccountFilterSet(_DirectoryFilterSet):
    person = django_filters.UUIDFilter(
        field_name="user_id", label="Person", help_text="Id of a person."
    )

    class Meta:
        model = Account
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(username__icontains=value)
            | Q(email__icontains=value)
            | Q(display_name__icontains=value)
            | Q(external_id__iexact=value)
        )

    def filter_app(self, queryset, name, value):
        return queryset.filter(app_instance_id=value)

    def filter_status(self, queryset, name, value):
        return queryset.filter(status=value)

    def filter_admin(self, queryset, name, value):
        return queryset.filter(is_admin=value)

    def filter_domain(self, queryset, name, value):
        if not value.strip():
            return queryset
        domain = _domain(value)
        return queryset.filter(Q(email__iendswith=domain) | Q(username__iendswith=domain))

    def filter_external(self, queryset, name, value):
        # An account not joined to a person has no affiliation: it matches neither answer.
        return queryset.filter(user__is_external=value)

    def filter_group(self, queryset, name, value):
        members = GroupMembership.objects.filter(group_id=value).values("account_id")
        return queryset.filter(pk__in=members)

    def filter_last_seen(self, queryset, name, value: str):
        return queryset.filter(last_seen_q(value))
