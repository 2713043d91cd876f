"""Console pages of the activity log: the filtered list, one activity, the CSV export, and the
time-boxed reveal of private activities (spec 1.6, rules in `privacy.py`)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.accounts.models import Account, CloudUser
from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import export, privacy, selectors
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


def activity_filterset(request, *, include_private: bool = False) -> ActivityFilterSet:
    params = request.GET.copy()
    params.pop("cursor", None)
    queryset = selectors.activity_list(include_private=include_private)
    return ActivityFilterSet(params or None, queryset=queryset, request=request)


def private_context(request) -> dict:
    """What a page showing activities says about private ones: whether this reader may reveal
    them and until when they are revealed (never how many are hidden)."""
    return {
        "private_can_reveal": privacy.may_view_private(request),
        "private_until": privacy.revealed_until(request),
        "private_reveal_minutes": privacy.REVEAL_MINUTES,
    }


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
        revealed = privacy.is_revealed(self.request)
        filterset = activity_filterset(self.request, include_private=revealed).fill_choices()
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
            **private_context(self.request),
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
        item = selectors.activity(
            kwargs["activity_id"], include_private=privacy.is_revealed(self.request)
        )
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
            **private_context(self.request),
        )
        return context


class ActivityExportView(TenantView):
    """CSV of the filtered log (same parameters as the page), streamed and audited. Private
    activities are never in it, even while revealed (the file then says so)."""

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
            note_private=privacy.is_revealed(request),
        )


def _safe_next(request, tenant) -> str:
    """Where to go after revealing or hiding: a page of this site, else the activity log."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("activities:list", args=[tenant.slug])


class RevealPrivateView(TenantTemplateView):
    """Ask why, then show private activities to this user in this tenant for a while (spec 1.6:
    "Show private activities" -> confirm, written to the audit log)."""

    template_name = "activities/reveal.html"
    section = "activities"
    read_action = Action.VIEW_PRIVATE
    write_action = Action.VIEW_PRIVATE

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", privacy.JustificationForm())
        context.update(next=_safe_next(self.request, self.tenant), **private_context(self.request))
        return context

    def post(self, request, *args, **kwargs):
        form = privacy.JustificationForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        until = privacy.reveal(
            tenant=self.tenant,
            actor=request.user,
            request=request,
            justification=form.cleaned_data["justification"],
        )
        messages.success(
            request, f"Private activities are shown to you until {until:%H:%M} UTC (audited)."
        )
        return redirect(_safe_next(request, self.tenant))


class HidePrivateView(TenantView):
    """End this user's reveal of private activities now."""

    write_action = Action.VIEW_PRIVATE
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        privacy.hide(tenant=self.tenant, actor=request.user, request=request)
        messages.success(request, "Private activities are hidden again.")
        return redirect(_safe_next(request, self.tenant))
