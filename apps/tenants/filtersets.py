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
    """Midnight UTC of `day`: the log shows UTC, so the filter's days are UTC days."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


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
    date_from = django_filters.DateFilter(
        method="filter_date_from",
        label="From (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to",
        label="To (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "object_type", "ip", "date_from", "date_to"]

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().lower()
        if not value:
            return queryset
        # A prefix is also an exact match of itself, so one startswith covers both uses.
        return queryset.filter(action__startswith=value)

    def filter_date_from(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(created_at__gte=_day_start(value))

    def filter_date_to(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(created_at__lt=_day_start(value + dt.timedelta(days=1)))
