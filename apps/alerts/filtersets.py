"""The alert queue's one FilterSet, shared by the console page, the API list and both exports.

Build it over a queryset already scoped to the tenant (`selectors.alerts()`); it only narrows.
Filters on linked people, accounts and apps are `EXISTS` sub-queries on the link tables, so an
alert linked to many of them is still one row (no DISTINCT over the whole queue).

Invalid input (a malformed id, an unknown choice, a bad date or assignee) makes the form
invalid: the console shows the error and no rows, the API answers 400 naming the parameter.
"""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast
from drf_spectacular.utils import extend_schema_field

from apps.activities.filtersets import SelectReadingAll, StrictBooleanFilter
from apps.connectors.models import AppInstance
from apps.tenants.filtersets import DayFilter, IPAddressFilter
from apps.tenants.scoping import current_tenant_or_none

from .models import (
    OPEN_STATUSES,
    Alert,
    AlertAccount,
    AlertApp,
    AlertStatus,
    AlertType,
    AlertUser,
    Category,
    Policy,
    Resolution,
    Severity,
)
from .services import assignable_members

TEXT_MAX = 200
_NUMBER = re.compile(r"^#?(\d{1,18})$")
RESOLUTIONS = [(value, label) for value, label in Resolution.choices if value]
ASSIGNEE_HELP = 'A member\'s user id, "me" or "unassigned".'


class QueueOrdering(django_filters.OrderingFilter):
    """`sort=date|-date|severity|-severity|number|-number`; ties broken by the number so pages
    never overlap."""

    def filter(self, qs, value):
        if not value:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        if not {"number", "-number"} & set(ordering):
            ordering.append("-number")
        return qs.order_by(*ordering)


class AlertFilterSet(django_filters.FilterSet):
    """Filters: status (several), open, severity (several), category, alert type, policy, app,
    person, account, IP, assignee ("me", "unassigned" or a user id), resolution, read, a UTC
    date range on the last trigger (both ends inclusive), text (title, description, "#12")."""

    status = extend_schema_field({"type": "string", "enum": list(AlertStatus.values)})(
        django_filters.MultipleChoiceFilter(
            choices=AlertStatus.choices,
            distinct=False,
            label="Status",
            help_text="Repeat the parameter for several statuses.",
            widget=SelectReadingAll,
        )
    )
    open = StrictBooleanFilter(
        method="filter_open", label="Open", help_text="true: open or in progress; false: closed."
    )
    severity = extend_schema_field({"type": "integer", "enum": list(Severity.values)})(
        django_filters.TypedMultipleChoiceFilter(
            choices=Severity.choices,
            coerce=int,
            distinct=False,
            label="Severity",
            help_text="0 informational, 1 low, 2 medium, 3 high; repeat for several.",
            widget=SelectReadingAll,
        )
    )
    category = django_filters.ChoiceFilter(
        field_name="category", choices=Category.choices, label="Category", empty_label="Any"
    )
    alert_type = django_filters.ChoiceFilter(
        field_name="alert_type", choices=AlertType.choices, label="Alert type", empty_label="Any"
    )
    policy = django_filters.UUIDFilter(
        field_name="policy_id", label="Policy", help_text="Id of a policy.", widget=forms.Select
    )
    app = django_filters.UUIDFilter(
        method="filter_app", label="App", help_text="Id of a connected app.", widget=forms.Select
    )
    user = django_filters.UUIDFilter(
        method="filter_user", label="Person", help_text="Id of a person (users API)."
    )
    account = django_filters.UUIDFilter(
        method="filter_account", label="Account", help_text="Id of an account (accounts API)."
    )
    ip = IPAddressFilter(method="filter_ip", label="IP address", help_text="An exact address.")
    assignee = django_filters.CharFilter(
        method="filter_assignee",
        label="Assignee",
        help_text=ASSIGNEE_HELP,
        max_length=20,
        validators=[RegexValidator(r"^(me|unassigned|\d{1,12})$", ASSIGNEE_HELP)],
        widget=forms.Select,
    )
    resolution = django_filters.ChoiceFilter(
        field_name="resolution", choices=RESOLUTIONS, label="Resolution", empty_label="Any"
    )
    read = StrictBooleanFilter(field_name="read", label="Read")
    date_from = DayFilter(
        "last_triggered_at",
        until=False,
        help_text="Last triggered on or after this day (YYYY-MM-DD, UTC).",
    )
    date_to = DayFilter(
        "last_triggered_at",
        until=True,
        help_text="Last triggered on or before this day (YYYY-MM-DD, UTC).",
    )
    q = django_filters.CharFilter(
        method="filter_text",
        label="Text",
        help_text='Part of the title or description, or an alert number ("#12").',
        max_length=TEXT_MAX,
    )
    sort = QueueOrdering(
        fields=(("last_triggered_at", "date"), ("severity", "severity"), ("number", "number")),
        label="Sort",
        help_text="date (default: -date, newest first), severity or number; '-' for descending.",
    )

    class Meta:
        model = Alert
        fields: list[str] = []  # all declared above

    def fill_choices(self) -> AlertFilterSet:
        """The console's drop-downs (presentation only: any id is accepted, and one of another
        tenant simply matches nothing in this scoped queryset)."""
        fields = self.form.fields
        fields["status"].widget.choices = [("", "Any"), *AlertStatus.choices]
        fields["severity"].widget.choices = [("", "Any"), *reversed(Severity.choices)]
        tenant = current_tenant_or_none()
        if tenant is not None:
            apps = AppInstance.objects.order_by("name").values_list("id", "name")
            fields["app"].widget.choices = [("", "Any"), *apps]
            policies = Policy.objects.order_by("name").values_list("id", "name")
            fields["policy"].widget.choices = [("", "Any"), *policies]
            members = [
                (str(m.user_id), m.user.get_full_name() or m.user.get_username())
                for m in assignable_members(tenant)
            ]
            fields["assignee"].widget.choices = [
                ("", "Anyone"),
                ("me", "Me"),
                ("unassigned", "Unassigned"),
                *members,
            ]
        return self

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        if value:
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.exclude(status__in=OPEN_STATUSES)

    def filter_app(self, queryset: QuerySet, name: str, value) -> QuerySet:
        links = AlertApp.objects.filter(alert=OuterRef("pk"), app_instance_id=value)
        return queryset.filter(Exists(links))

    def filter_user(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(
            Exists(AlertUser.objects.filter(alert=OuterRef("pk"), user_id=value))
        )

    def filter_account(self, queryset: QuerySet, name: str, value) -> QuerySet:
        links = AlertAccount.objects.filter(alert=OuterRef("pk"), account_id=value)
        return queryset.filter(Exists(links))

    def filter_ip(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        if connections[queryset.db].vendor == "postgresql":
            return queryset.filter(ips__contains=[value])  # jsonb @>
        # SQLite (the demo) has no JSON containment: match the quoted address in the JSON text.
        return queryset.alias(ips_text=Cast("ips", TextField())).filter(
            ips_text__contains=f'"{value}"'
        )

    def filter_assignee(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        if value == "unassigned":
            return queryset.filter(assignee_id__isnull=True)
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(assignee_id=getattr(user, "pk", None) or -1)
        return queryset.filter(assignee_id=int(value))

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        condition = Q(title__icontains=value) | Q(description__icontains=value)
        number = _NUMBER.match(value)
        if number:
            condition |= Q(number=int(number.group(1)))
        return queryset.filter(condition)
