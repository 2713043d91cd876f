"""Console pages of the activity log: the filtered list, one activity, the CSV export."""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from apps.accounts.models import Account, CloudUser
from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import export, selectors
from .categories import label as type_label
from .filtersets import ActivityFilterSet

# Filters shown in the first row of the bar; the others fold under "More filters".
MAIN_FILTERS = ("q", "app", "activity_type", "date_from", "date_to")
HIDDEN_FILTERS = ("user", "account")


def flag(country: str) -> str:
    """The flag emoji of an ISO country code (regional indicator letters), or ""."""
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in country.upper())


def activity_filterset(request) -> ActivityFilterSet:
    params = request.GET.copy()
    params.pop("cursor", None)
    return ActivityFilterSet(params or None, queryset=selectors.activity_list(), request=request)


def _filters_used(filterset: ActivityFilterSet) -> dict:
    if not filterset.is_bound or not filterset.is_valid():
        return {}
    return export.describe_filters(filterset.form.cleaned_data)


class ActivityLogView(TenantTemplateView):
    """The activity log: filter bar, newest first, keyset pages ("Newer" / "Older")."""

    template_name = "activities/list.html"
    section = "activities"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = activity_filterset(self.request).fill_choices()
        valid = filterset.is_valid() or not filterset.is_bound
        page = selectors.Page([], None, None)
        if valid:
            try:
                page = selectors.keyset_page(filterset.qs, cursor=self.request.GET.get("cursor"))
            except selectors.InvalidCursor as exc:
                messages.error(self.request, str(exc))
                page = selectors.keyset_page(filterset.qs)
        used = _filters_used(filterset)
        form = filterset.form
        context.update(
            filter=filterset,
            main_fields=[form[name] for name in MAIN_FILTERS],
            more_fields=[
                form[name]
                for name in form.fields
                if name not in MAIN_FILTERS and name not in HIDDEN_FILTERS
            ],
            hidden_fields=[form[name] for name in HIDDEN_FILTERS if used.get(name)],
            more_open=any(name not in MAIN_FILTERS for name in used)
            or any(form[name].errors for name in form.fields),
            rows=[(item, selectors.describe(item), flag(item.country)) for item in page.rows],
            page=page,
            filtered=bool(used) or not valid,
            pinned=self._pinned(used),
            export_query=self._query_without_cursor(),
        )
        return context

    def _pinned(self, used: dict) -> list[tuple[str, str, str]]:
        """Filters on one person or account, shown by name with a link that drops them."""
        pinned = []
        if used.get("user"):
            person = CloudUser.objects.filter(pk=used["user"]).first()
            name = str(person) if person else "unknown person"
            pinned.append(("Person", name, self._url_without("user")))
        if used.get("account"):
            account = Account.objects.filter(pk=used["account"]).first()
            name = str(account) if account else "unknown account"
            pinned.append(("Account", name, self._url_without("account")))
        return pinned

    def _url_without(self, name: str) -> str:
        params = self.request.GET.copy()
        for key in (name, "cursor"):
            params.pop(key, None)
        url = reverse("activities:list", args=[self.tenant.slug])
        return f"{url}?{params.urlencode()}" if params else url

    def _query_without_cursor(self) -> str:
        params = self.request.GET.copy()
        params.pop("cursor", None)
        return params.urlencode()


class ActivityDetailView(TenantTemplateView):
    """One activity: every normalised field, IP category and tags, the raw record, and
    "show similar" links (same person, same IP, same type) that are plain log filters."""

    template_name = "activities/detail.html"
    section = "activities"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        item = selectors.activity(kwargs["activity_id"])
        slug = self.tenant.slug
        who = (
            {"user": item.user_id} if item.user_id else {"actor": item.actor} if item.actor else {}
        )
        similar = []
        if item.user_id:
            similar.append(("Same person", selectors.log_url(slug, **who)))
        elif item.actor:
            similar.append(("Same user name", selectors.log_url(slug, **who)))
        if item.ip:
            similar.append(("Same IP address", selectors.log_url(slug, ip=item.ip)))
        similar.append(("Same type", selectors.log_url(slug, activity_type=item.activity_type)))
        if who:
            similar.append(
                (
                    "Same type by this user",
                    selectors.log_url(slug, activity_type=item.activity_type, **who),
                )
            )
        context.update(
            item=item,
            description=selectors.describe(item),
            type_label=type_label(item.activity_type),
            flag=flag(item.country),
            ip_category=selectors.ip_category_label(item.ip_category),
            raw=json.dumps(item.raw, indent=2, sort_keys=True, ensure_ascii=False, default=str),
            similar=similar,
        )
        return context


class ActivityExportView(TenantView):
    """CSV of the filtered log (same parameters as the page), streamed and audited."""

    read_action = Action.EXPORT

    def get(self, request, *args, **kwargs):
        filterset = activity_filterset(request)
        if filterset.is_bound and not filterset.is_valid():
            messages.error(request, "Fix the filters before exporting.")
            url = reverse("activities:list", args=[self.tenant.slug])
            return redirect(f"{url}?{request.GET.urlencode()}")
        hint = "activities"
        filters = _filters_used(filterset)
        if filters.get("user"):
            hint = "person-activities"
        return export.stream(
            tenant=self.tenant,
            queryset=filterset.qs,
            filters=filters,
            request=request,
            filename_hint=hint,
        )
