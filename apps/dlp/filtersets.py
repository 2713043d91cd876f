"""The Files list's one FilterSet, shared by the console page, its CSV export and the API.

Built over the tenant's scoped queryset (`selectors.files()`); it only narrows. An invalid value
(a malformed id or date, an unknown choice) makes the form invalid: the console then shows the
error and no rows, the API answers 400. Our snake_case names are primary; a few of the reference
product's names (spec 7.5: `fileType`, `sharing`, `filename`, `fileId`) are accepted as aliases
when the primary name is absent.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet

from apps.activities.filtersets import StrictBooleanFilter
from apps.connectors.models import AppInstance
from apps.tenants.filtersets import DayFilter
from apps.tenants.scoping import current_tenant_or_none

from .models import AccessLevel, FileRecord, FileSource, FileType, ScanStatus, Verdict

MAX_TEXT = 200

# spec 7.5 name -> ours
ALIASES = {
    "fileType": "file_type",
    "sharing": "access_level",
    "filename": "name",
    "fileId": "file_id",
    "mimeType": "mime_type",
}


class FileFilterSet(django_filters.FilterSet):
    """App, file type, access level, extension, verdict, scan status, matched type, matched
    policy, owner, name, source, quarantined and a UTC date range of the last scan."""

    app = django_filters.UUIDFilter(
        field_name="app_instance_id",
        label="App",
        help_text="Id of a connected app.",
        widget=forms.Select,
    )
    file_type = django_filters.ChoiceFilter(
        choices=FileType.choices, label="File type", empty_label="Any"
    )
    access_level = django_filters.ChoiceFilter(
        choices=AccessLevel.choices, label="Access level", empty_label="Any"
    )
    extension = django_filters.CharFilter(
        method="filter_extension",
        label="Extension",
        help_text="File name extension without the dot, e.g. docx.",
        max_length=32,
    )
    verdict = django_filters.ChoiceFilter(
        choices=[c for c in Verdict.choices if c[0]], label="Verdict", empty_label="Any"
    )
    scan_status = django_filters.ChoiceFilter(
        choices=ScanStatus.choices, label="Inspection status", empty_label="Any"
    )
    matched_type = django_filters.CharFilter(
        method="filter_matched_type",
        label="Sensitive type",
        help_text="Key of a sensitive information type found in the file, e.g. payment_card.",
        max_length=64,
    )
    policy = django_filters.UUIDFilter(
        method="filter_policy",
        label="Matched policy",
        help_text="Id of a file policy the file matched.",
        widget=forms.Select,
    )
    owner = django_filters.CharFilter(
        field_name="owner",
        lookup_expr="icontains",
        label="Owner",
        help_text="Part of the owner's name or address.",
        max_length=MAX_TEXT,
    )
    name = django_filters.CharFilter(
        field_name="name",
        lookup_expr="icontains",
        label="File name",
        help_text="Part of the file name.",
        max_length=MAX_TEXT,
    )
    file_id = django_filters.CharFilter(
        field_name="external_id",
        label="File id",
        help_text="The app's id of the file (exact).",
        max_length=300,
    )
    mime_type = django_filters.CharFilter(
        field_name="mime_type",
        lookup_expr="iexact",
        label="MIME type",
        help_text="Exact MIME type, e.g. application/pdf.",
        max_length=200,
    )
    source = django_filters.ChoiceFilter(
        choices=FileSource.choices, label="Source", empty_label="Any"
    )
    # Strict: "maybe" or "-1" is a 400, not a silently ignored filter.
    quarantined = StrictBooleanFilter(field_name="quarantined", label="Quarantined")
    scanned_from = DayFilter(
        "scanned_at",
        until=False,
        label="Scanned from (UTC)",
        help_text="First day, inclusive (YYYY-MM-DD, UTC).",
    )
    scanned_to = DayFilter(
        "scanned_at",
        until=True,
        label="Scanned to (UTC)",
        help_text="Last day, inclusive (YYYY-MM-DD, UTC).",
    )

    class Meta:
        model = FileRecord
        fields: list[str] = []  # all declared above

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and any(alias in data for alias in ALIASES):
            data = data.copy()
            for alias, name in ALIASES.items():
                if alias in data and name not in data:
                    if hasattr(data, "setlist"):
                        data.setlist(name, data.getlist(alias))
                    else:
                        data[name] = data[alias]
                data.pop(alias, None)
        super().__init__(data, *args, **kwargs)

    def fill_choices(self) -> FileFilterSet:
        """The console's app and policy drop-downs (presentation only: an id of another
        tenant's app or policy simply matches nothing in the scoped queryset)."""
        from . import selectors

        if current_tenant_or_none() is not None:
            apps = AppInstance.objects.order_by("name").values_list("id", "name")
            self.form.fields["app"].widget.choices = [("", "Any"), *apps]
            self.form.fields["policy"].widget.choices = [
                ("", "Any"),
                *selectors.file_policy_choices(),
            ]
        return self

    def filter_extension(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().lstrip(".").lower()
        return queryset.filter(extension=value) if value else queryset

    def filter_matched_type(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(matched_types__contains=[value]) if value else queryset

    def filter_policy(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(matched_policies__contains=[str(value)]) if value else queryset
