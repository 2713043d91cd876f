"""The governance log's one FilterSet, shared by the console page, its CSV export and the API.

Built over the tenant's scoped queryset (`selectors.actions()`); it only narrows. An invalid value
(a malformed id or date, an unknown choice) makes the form invalid: the console then shows the
error and no rows, the API answers 400.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from apps.connectors.models import AppInstance
from apps.tenants.filtersets import DayFilter
from apps.tenants.scoping import current_tenant_or_none

from .models import GovernanceAction, GovernanceKind, GovernanceStatus, Source

MAX_TEXT = 200


class GovernanceFilterSet(django_filters.FilterSet):
    """Status, action, source (admin / policy / system), app, person, alert, target text and
    a UTC date range (both ends inclusive) of when the action was requested."""

    status = django_filters.ChoiceFilter(
        choices=GovernanceStatus.choices, label="Status", empty_label="Any"
    )
    kind = django_filters.ChoiceFilter(
        choices=GovernanceKind.choices, label="Action", empty_label="Any"
    )
    source = django_filters.ChoiceFilter(
        choices=Source.choices, label="Initiated by", empty_label="Anyone"
    )
    app = django_filters.UUIDFilter(
        field_name="app_instance_id",
        label="App",
        help_text="Id of a connected app.",
        widget=forms.Select,
    )
    user = django_filters.UUIDFilter(
        field_name="user_id", label="Person", help_text="Id of a person (users API)."
    )
    alert = django_filters.UUIDFilter(
        field_name="alert_id", label="Alert", help_text="Id of an alert."
    )
    q = django_filters.CharFilter(
        method="filter_target",
        label="Target",
        help_text="Part of the target's name, address or id.",
        max_length=MAX_TEXT,
    )
    date_from = DayFilter(
        "created_at", until=False, help_text="First day, inclusive (YYYY-MM-DD, UTC)."
    )
    date_to = DayFilter(
        "created_at", until=True, help_text="Last day, inclusive (YYYY-MM-DD, UTC)."
    )

    class Meta:
        model = GovernanceAction
        fields: list[str] = []  # all declared above

    def fill_choices(self) -> GovernanceFilterSet:
        """The console's app drop-down (presentation only: an id of another tenant's app
        simply matches nothing in the scoped queryset)."""
        if current_tenant_or_none() is not None:
            apps = AppInstance.objects.order_by("name").values_list("id", "name")
            self.form.fields["app"].widget.choices = [("", "Any"), *apps]
        return self

    def filter_target(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(target_label__icontains=value) | Q(target_ref__icontains=value))
