"""The activity log's one FilterSet, shared by the console page, the GET API and the CSV export.

Build it over a queryset that is already scoped to the tenant (`selectors.activities()` inside
the tenant's context); it only narrows. The conditions come from `query.py`, the compiler of the
API's JSON filters, so "free text", "IP prefix" or "IP tag" mean the same thing in both.

Invalid input (a malformed id, address, date or choice) makes the form invalid: the console then
shows the error and no rows, the API answers 400.
"""

from __future__ import annotations

import django_filters
import pycountry
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema_field

from apps.connectors.models import AppInstance
from apps.tenants.filtersets import DayFilter, IPAddressFilter
from apps.tenants.scoping import current_tenant_or_none

from . import query
from .categories import GROUPS, ActivityType
from .models import Activity, IpCategory

COUNTRIES = sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


# Long choice lists are given as callables: a form deep-copies its fields on every request, and
# copying 250 countries costs more than the database query of a page.
def _countries() -> list[tuple[str, str]]:
    return COUNTRIES


def _activity_types() -> list[tuple[str, str]]:
    return ActivityType.choices


_GROUP_CHOICES = [(name, name) for name in GROUPS]


class SelectReadingAll(forms.Select):
    """One drop-down in the console that still reads every value of a repeated parameter, so
    the API (and a "show similar" link) may ask for several values at once. Its "Any" option
    sends an empty value, which is dropped."""

    def value_from_datadict(self, data, files, name):
        getter = getattr(data, "getlist", None)
        values = getter(name) if getter is not None else data.get(name)
        if isinstance(values, list | tuple):
            return [value for value in values if value]
        return values


class YesNoAny(django_filters.widgets.BooleanWidget):
    """true / false / either, labelled for a filter bar. It hands the raw text to the field
    (django-filter's widget would turn an unknown value into "either", silently)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class StrictBooleanField(forms.NullBooleanField):
    """true / false (or 1 / 0), empty for "either"; anything else is an error, not "either"."""

    widget = YesNoAny

    def to_python(self, value):
        text = str(value).strip().lower() if value is not None else ""
        if text == "":
            return None
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("Give true or false.", code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class ActivityFilterSet(django_filters.FilterSet):
    """Filters: app, person, account, actor, activity type (or group of types), action type,
    IP (exact or prefix), IP category, IP tag, country, success, administrative, a UTC date
    range (both ends inclusive) and free text (whole words of object name, actor and action)."""

    app = django_filters.UUIDFilter(
        field_name="app_instance_id",
        label="App",
        help_text="Id of a connected app.",
        widget=forms.Select,
    )
    user = django_filters.UUIDFilter(
        field_name="user_id", label="Person", help_text="Id of a person (users API)."
    )
    account = django_filters.UUIDFilter(
        field_name="account_id", label="Account", help_text="Id of an account (accounts API)."
    )
    actor = django_filters.CharFilter(
        method="filter_actor",
        label="User name",
        help_text="The user name as the app sent it, or its beginning.",
        max_length=254,
    )
    activity_type = extend_schema_field({"type": "string", "enum": list(ActivityType.values)})(
        django_filters.MultipleChoiceFilter(
            choices=_activity_types,
            # No DISTINCT (django-filter's default, meant for many-to-many joins): one row per
            # activity already, and DISTINCT would sort every match instead of reading a page.
            distinct=False,
            label="Activity type",
            help_text="Repeat the parameter for several types.",
            widget=SelectReadingAll,
        )
    )
    type_group = django_filters.ChoiceFilter(
        choices=_GROUP_CHOICES, method="filter_type_group", label="Type group", empty_label="Any"
    )
    action_type = django_filters.CharFilter(
        field_name="action_type",
        lookup_expr="iexact",
        label="Action (in app)",
        help_text="The app's own operation name, e.g. FileDownloaded.",
        max_length=120,
    )
    ip = IPAddressFilter(field_name="ip", label="IP address", help_text="An exact address.")
    ip_prefix = django_filters.CharFilter(
        method="filter_ip_prefix",
        label="IP starts with",
        help_text="The beginning of the address as text, e.g. '10.1.' or '2001:db8:'.",
        max_length=45,
        validators=[
            RegexValidator(
                query.IP_PREFIX, "An IP prefix holds only digits, hex letters, dots and colons."
            )
        ],
    )
    ip_category = django_filters.ChoiceFilter(
        field_name="ip_category", choices=IpCategory.choices, label="IP category", empty_label="Any"
    )
    ip_tag = django_filters.CharFilter(method="filter_ip_tag", label="IP tag", max_length=120)
    country = extend_schema_field({"type": "string", "enum": [c for c, _ in COUNTRIES]})(
        django_filters.ChoiceFilter(
            field_name="country", choices=_countries, label="Country", empty_label="Any"
        )
    )
    succeeded = StrictBooleanFilter(field_name="succeeded", label="Succeeded")
    is_admin = StrictBooleanFilter(field_name="is_admin", label="Admin")
    date_from = DayFilter(
        "occurred_at", until=False, help_text="First day, inclusive (YYYY-MM-DD, UTC)."
    )
    date_to = DayFilter(
        "occurred_at", until=True, help_text="Last day, inclusive (YYYY-MM-DD, UTC)."
    )
    q = django_filters.CharFilter(
        method="filter_text",
        label="Text",
        help_text='Whole words of object name, user name or action; "quotes" for a phrase.',
        max_length=query.MAX_TEXT,
    )

    class Meta:
        model = Activity
        fields: list[str] = []  # all declared above

    def fill_choices(self) -> ActivityFilterSet:
        """Fill the console's drop-downs (the API needs none of it): the tenant's connected
        apps (presentation only: any id is accepted, and one of another tenant simply matches
        nothing in this scoped queryset), and an "Any" entry for the activity type."""
        if current_tenant_or_none() is not None:
            apps = AppInstance.objects.order_by("name").values_list("id", "name")
            self.form.fields["app"].widget.choices = [("", "Any"), *apps]
        self.form.fields["activity_type"].widget.choices = [("", "Any"), *ActivityType.choices]
        return self

    def filter_actor(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(actor__istartswith=value) if value else queryset

    def filter_type_group(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(activity_type__in=GROUPS[value])

    def filter_ip_prefix(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(query.ip_prefix_q(value))

    def filter_ip_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(query.ip_tag_q(value, using=queryset.db)) if value else queryset

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        condition = query.text_q(value)
        return queryset.filter(condition) if condition != Q() else queryset
