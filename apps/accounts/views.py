"""Console pages of users and accounts: the list (people or accounts) and a person's page."""

from __future__ import annotations

from django.core.paginator import Paginator

from apps.activities import privacy
from apps.activities import selectors as activity_selectors
from apps.activities.views import flag, private_context
from apps.alerts import selectors as alert_selectors
from apps.alerts.views import governance_partial
from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView

from . import selectors
from .filtersets import AccountFilterSet, PersonFilterSet

PAGE_SIZE = 50
RECENT_ACTIVITIES = 20


class DirectoryView(TenantTemplateView):
    """People (default) or accounts (`?type=account`), with the same filters (spec 1.7)."""

    template_name = "accounts/list.html"
    section = "users"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        show_accounts = self.request.GET.get("type") == "account"
        params = self.request.GET.copy()
        for key in ("type", "page"):
            params.pop(key, None)
        if show_accounts:
            filterset = AccountFilterSet(
                params or None,
                queryset=selectors.accounts().order_by("username", "id"),
                request=self.request,
            )
        else:
            filterset = PersonFilterSet(
                params or None,
                queryset=selectors.people().order_by("display_name", "identity", "id"),
                request=self.request,
            )
        filterset.fill_choices()
        valid = filterset.is_valid() or not filterset.is_bound
        queryset = filterset.qs if valid else filterset.queryset.none()
        page = Paginator(queryset, PAGE_SIZE).get_page(self.request.GET.get("page"))
        rows = list(page) if show_accounts else [selectors.person_view(p) for p in page]
        context.update(
            filter=filterset,
            show_accounts=show_accounts,
            page=page,
            rows=rows,
            filtered=bool(params),
            filter_query=params.urlencode(),
        )
        return context


class PersonPageView(TenantTemplateView):
    """A person's entity page: profile, accounts per app, groups, recent activity, IPs and
    countries of the last 30 days, and alerts. Private activities are left out of the list and
    the figures unless this reader revealed them (spec 1.6)."""

    template_name = "accounts/detail.html"
    section = "users"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        item = selectors.person(kwargs["user_id"])
        insights = activity_selectors.person_insights(
            item.id, recent=RECENT_ACTIVITIES, include_private=privacy.is_revealed(self.request)
        )
        slug = self.tenant.slug
        context.update(
            view=selectors.person_view(item),
            person=item,
            insights=insights,
            recent=[
                (row, activity_selectors.describe(row), flag(row.country))
                for row in insights.recent
            ],
            countries=[dict(row, flag=flag(row["country"])) for row in insights.countries],
            log_url=activity_selectors.log_url(slug, user=item.id),
            export_query=f"user={item.id}",
            insight_days=activity_selectors.INSIGHT_DAYS,
            **private_context(self.request),
        )
        # Alerts about this person (open ones first) and governance of their accounts.
        context.update(
            person_alerts=alert_selectors.person_alerts(item.id),
            alerts_url=alert_selectors.queue_url(slug, user=item.id, open=""),
            open_alerts_url=alert_selectors.queue_url(slug, user=item.id),
            governance_partial=governance_partial(),
            can_govern=self.may(Action.RUN_GOVERNANCE),
        )
        return context
