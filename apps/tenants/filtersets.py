"""The audit log's one FilterSet, shared by the console page and the REST API.

Build it over a queryset that is already scoped to the tenant (`AuditEvent.objects...` inside
`tenant_context`); it only narrows, it never widens.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import QuerySet

from .models import AuditEvent


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight UTC of `day`: the console shows UTC, so the filters' days are UTC days."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


class DayFilter(django_filters.DateFilter):
    """One end of a range of whole UTC days on a date-time column, both ends inclusive.

    `DayFilter("occurred_at", until=False)` keeps rows on or after the day's midnight;
    `until=True` keeps rows before the next midnight (the last day, `9999-12-31`, keeps all).
    """

    def __init__(self, column: str, *, until: bool, **kwargs):
        kwargs.setdefault("label", "To (UTC)" if until else "From (UTC)")
        kwargs.setdefault(
            "help_text",
            "Last day, inclusive (YYYY-MM-DD, UTC)."
            if until
            else "First day, inclusive (YYYY-MM-DD, UTC).",
        )
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)
        self.column, self.until = column, until

    def filter(self, qs: QuerySet, value: dt.date | None) -> QuerySet:
        if value is None:
            return qs
        if not self.until:
            return qs.filter(**{f"{self.column}__gte": _day_start(value)})
        if value >= dt.date.max:
            return qs  # "up to the end of time"; the day after would overflow
        return qs.filter(**{f"{self.column}__lt": _day_start(value + dt.timedelta(days=1))})


class IPAddressFilter(django_filters.CharFilter):
    """Exact address match; the field validates v4/v6 and normalises (e.g. '::ffff:1.2.3.4')."""

    field_class = forms.GenericIPAddressField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("unpack_ipv4", True)
        super().__init__(*args, **kwargs)


class AuditEventFilterSet(django_filters.FilterSet):
    """Filters: action (exact name or a prefix such as `access.`), actor, object type, IP and a
    UTC date range (both ends inclusive).

    Invalid input (a bad address or date) makes the form invalid: the console then shows the
    error and no rows, the API answers 400 (django-filter's DRF backend).
    """

    action = django_filters.CharFilter(
        method="filter_action",
        label="Action",
        # Shown as the API parameter's description; the console shows the placeholder.
        help_text="An action name, or its beginning (e.g. 'access.' or 'settings').",
        widget=forms.TextInput(attrs={"list": "audit-actions", "placeholder": "e.g. access."}),
    )
    actor = django_filters.CharFilter(
        field_name="actor_label", lookup_expr="icontains", label="Actor"
    )
    object_type = django_filters.CharFilter(
        field_name="object_type", lookup_expr="iexact", label="Object type"
    )
    ip = IPAddressFilter(field_name="ip", label="IP address")
    date_from = DayFilter("created_at", until=False, help_text="")
    date_to = DayFilter("created_at", until=True, help_text="")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "object_type", "ip", "date_from", "date_to"]

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().lower()
        if not value:
            return queryset
        # A prefix is also an exact match of itself, so one startswith covers both uses.
        return queryset.filter(action__startswith=value)
