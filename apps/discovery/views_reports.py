"""Console pages of the Cloud Discovery reports: dashboard, discovered apps, unrecognised
domains, one app, users, IP addresses, the executive summary and the CSV exports.

Every page takes `?report=` (global by default, a continuous or snapshot report id; another
tenant's id is 404) and `?period=7|30|90`. Views only translate: totals come from
`selectors.py`, rows from `reports.py`, filters from `filters_reports.py`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import reverse
from django.utils.http import urlencode

from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import export, reports, reports_charts, selectors
from .catalog.attributes import ATTRIBUTES, GROUPS
from .filters_reports import DiscoveredAppFilterForm, EntityFilterForm, ScopeForm
from .models import UNRECOGNISED

PAGE_SIZE = 50
DETAIL_ROWS = 100  # users / addresses listed on one app's page
ACTIONS_PARTIAL = "discovery/manage/inc/app_actions.html"


def page_scope(request) -> tuple[selectors.Scope, ScopeForm]:
    """The request's report and period; an unknown report is 404, a bad period an error shown
    on the page with the default used instead."""
    form = ScopeForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    try:
        scope = selectors.scope(request.GET.get("report"), data.get("period"))
    except selectors.NoSuchReport:
        raise Http404("No such report") from None
    return scope, form


def scope_query(scope: selectors.Scope) -> str:
    params = {}
    if scope.key != selectors.GLOBAL:
        params["report"] = scope.key
    if scope.period and scope.period != selectors.DEFAULT_PERIOD:
        params["period"] = scope.period
    return urlencode(params)


def _filter_query(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


class ReportPage(TenantTemplateView):
    """Base of the report pages: resolves the scope once and shares the report selector."""

    section = "discovery"
    tab = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        self.scope, form = page_scope(self.request)
        context.update(
            tab=self.tab,
            scope=self.scope,
            scope_form=form,
            scope_query=scope_query(self.scope),
            report_choices=selectors.report_choices(),
            periods=selectors.PERIODS,
            snapshots_url=reverse("discovery:snapshots", args=[self.tenant.slug]),
            anonymization_url=reverse("discovery:anonymization", args=[self.tenant.slug]),
        )
        return context


class DashboardView(ReportPage):
    """Totals, categories, risk levels, top apps, users and addresses."""

    template_name = "discovery/reports/dashboard.html"
    tab = "dashboard"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        known = reports.knowledge()
        all_totals = selectors.app_totals(self.scope)
        rows = reports.app_rows(all_totals, known)
        categories = reports.categories(rows)
        levels = reports.risk_levels(rows)
        context.update(
            has_data=bool(all_totals),
            totals=reports.totals(self.scope, all_totals),
            category_chart=reports_charts.category_bars(categories),
            risk_chart=reports_charts.donut(levels),
            levels=levels,
            top_apps=rows[: reports.TOP],
            top_users=selectors.top_entities(self.scope, "user", 5),
            top_ips=selectors.top_entities(self.scope, "ip", 5),
        )
        return context


class AppsView(ReportPage):
    """The discovered apps table with its filters and sort order."""

    template_name = "discovery/reports/apps.html"
    tab = "apps"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        known = reports.knowledge()
        params = self.request.GET.copy()
        params.pop("page", None)
        form = DiscoveredAppFilterForm(params, tags=known.all_tags)
        rows = reports.app_rows(selectors.app_totals(self.scope), known)
        shown = form.apply(rows, known) if form.is_valid() else []
        page = Paginator(shown, PAGE_SIZE).get_page(self.request.GET.get("page"))
        context.update(
            form=form,
            page=page,
            rows=list(page),
            total_apps=len(rows),
            filter_query=_filter_query(self.request),
            filtered=any(k not in ("report", "period", "page") for k in self.request.GET),
        )
        return context


class UnrecognisedView(ReportPage):
    """Traffic to hosts no catalog or custom app claims, per domain."""

    template_name = "discovery/reports/unrecognised.html"
    tab = "unrecognised"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        domains = selectors.unrecognised(self.scope)
        q = self.request.GET.get("q", "").strip().lower()[:200]
        if q:
            domains = [d for d in domains if q in d.domain]
        page = Paginator(domains, PAGE_SIZE).get_page(self.request.GET.get("page"))
        context.update(page=page, rows=list(page), q=q)
        return context


def _display(value) -> str:
    if value is None:
        return "N/A"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "N/A"
    return str(value)


def fact_groups(attributes: dict, score) -> list[dict]:
    """The catalog facts in their four groups, every attribute shown (N/A when unknown)."""
    groups = []
    for group, label in GROUPS.items():
        facts = [
            {
                "label": a.label,
                "value": _display(attributes.get(a.key)),
                "known": a.key in attributes,
            }
            for a in ATTRIBUTES
            if a.group == group
        ]
        groups.append(
            {"key": group, "label": label, "score": score.groups.get(group), "facts": facts}
        )
    return groups


def actions_partial_exists() -> bool:
    """Whether the tag and score-override actions partial (discovery management) is installed;
    the app page renders without it."""
    try:
        select_template([ACTIONS_PARTIAL])
    except TemplateDoesNotExist:
        return False
    return True


class AppDetailView(ReportPage):
    """One app: catalog facts, score, domains seen, users, addresses, traffic over time."""

    template_name = "discovery/reports/app.html"
    tab = "apps"

    def get_context_data(self, **kwargs):
        key = kwargs["app"]
        context = super().get_context_data(**kwargs)
        known = reports.knowledge()
        app = known.app(key) if key != UNRECOGNISED else None
        if app is None:
            raise Http404("No such app")
        totals = selectors.app_totals_for(self.scope, key) or selectors.AppTotal(domain="")
        row = reports.app_row(key, totals, known)
        daily = selectors.app_daily(self.scope, key)
        users = reports.entity_rows(selectors.user_totals(self.scope, app=key), known)
        ips = reports.entity_rows(selectors.ip_totals(self.scope, app=key), known)
        context.update(
            app=app,
            row=row,
            override=known.overrides.get(key),
            facts=fact_groups(app.attributes, row.score),
            chart=reports_charts.daily_columns(daily, self.scope.since, self.scope.until),
            users=users[:DETAIL_ROWS],
            user_count=len(users),
            ips=ips[:DETAIL_ROWS],
            ip_count=len(ips),
            has_actions=actions_partial_exists(),
        )
        return context


class _EntityPage(ReportPage):
    """Base of the users and IP address tabs."""

    kind = "user"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        known = reports.knowledge()
        load = selectors.user_totals if self.kind == "user" else selectors.ip_totals
        rows = reports.entity_rows(load(self.scope), known)
        form = EntityFilterForm(self.request.GET)
        shown = form.apply(rows) if form.is_valid() else []
        page = Paginator(shown, PAGE_SIZE).get_page(self.request.GET.get("page"))
        context.update(
            form=form,
            page=page,
            rows=list(page),
            total=len(rows),
            filter_query=_filter_query(self.request),
        )
        return context


class UsersView(_EntityPage):
    """Per user (or pseudonym): apps used, transactions, traffic, unsanctioned use."""

    template_name = "discovery/reports/users.html"
    tab = "users"
    kind = "user"


class IpsView(_EntityPage):
    """Per source address, like the users tab."""

    template_name = "discovery/reports/ips.html"
    tab = "ips"
    kind = "ip"


class ExecutiveView(ReportPage):
    """A printable summary: totals, top apps overall and by category, top risks, top users."""

    template_name = "discovery/reports/executive.html"
    tab = "executive"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        known = reports.knowledge()
        all_totals = selectors.app_totals(self.scope)
        rows = reports.app_rows(all_totals, known)
        risky = [r for r in rows if r.score.level == "high"]
        title = self.request.GET.get("title", "").strip()[:100]
        context.update(
            title=title or "Cloud Discovery executive summary",
            has_data=bool(all_totals),
            totals=reports.totals(self.scope, all_totals),
            top_apps=rows[: reports.TOP],
            by_category=reports.by_category(rows),
            top_risks=risky[: reports.TOP],
            levels=reports.risk_levels(rows),
            top_users=selectors.top_entities(self.scope, "user", reports.TOP),
            top_ips=selectors.top_entities(self.scope, "ip", 5),
        )
        return context


class _Export(TenantView):
    """CSV of a report tab with the page's scope and filters, streamed and audited."""

    read_action = Action.EXPORT
    back = "discovery:apps"

    def refuse(self, request):
        messages.error(request, "Fix the filters before exporting.")
        url = reverse(self.back, args=[self.tenant.slug])
        return redirect(f"{url}?{request.GET.urlencode()}")


class AppsExportView(_Export):
    """CSV of the discovered apps (the table's filters), with tags and domains."""

    def get(self, request, *args, **kwargs):
        scope, _ = page_scope(request)
        known = reports.knowledge()
        form = DiscoveredAppFilterForm(request.GET, tags=known.all_tags)
        if not form.is_valid():
            return self.refuse(request)
        rows = form.apply(reports.app_rows(selectors.app_totals(scope), known), known)
        return export.stream(
            "apps",
            tenant=self.tenant,
            scope=scope,
            rows=rows,
            cleaned=form.cleaned_data,
            request=request,
        )


class UsersExportView(_Export):
    """CSV of the users tab, with sanctioned/unsanctioned use."""

    back = "discovery:users"
    kind = "users"

    def get(self, request, *args, **kwargs):
        scope, _ = page_scope(request)
        known = reports.knowledge()
        form = EntityFilterForm(request.GET)
        if not form.is_valid():
            return self.refuse(request)
        load = selectors.user_totals if self.kind == "users" else selectors.ip_totals
        rows = form.apply(reports.entity_rows(load(scope), known))
        return export.stream(
            self.kind,
            tenant=self.tenant,
            scope=scope,
            rows=rows,
            cleaned=form.cleaned_data,
            request=request,
        )


class IpsExportView(UsersExportView):
    """CSV of the IP addresses tab, with sanctioned/unsanctioned use."""

    back = "discovery:ips"
    kind = "ips"
