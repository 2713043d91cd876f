"""Console pages of the alert queue: the filtered queue with bulk actions, one alert with its
triage, and the CSV export.

Thin: reads through `selectors`, writes through `services`. Every member may look; triage needs
`Action.MANAGE_ALERTS` and the export `Action.EXPORT` (the base view answers 403 otherwise).

Opening an alert marks it read, but only for someone who may triage: the read state is the
team's ("has anyone who handles alerts seen this?"), a reader cannot write, and a reader's
look must not make an alert drop out of the triagers' "unread" view.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.accounts.models import Account, CloudUser
from apps.activities import privacy
from apps.activities import selectors as activity_selectors
from apps.activities.export import describe_filters
from apps.activities.views import flag
from apps.tenants.audit import summarize_details
from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import export, selectors, services
from .filtersets import AlertFilterSet
from .forms import BulkForm, TriageForm, close_as_groups, split_close_as
from .models import RESOLUTION_REASONS, Alert

PAGE_SIZE = 50
GOVERNANCE_PARTIAL = "governance/inc/run_action.html"
MAIN_FILTERS = ("q", "severity", "status", "assignee", "app", "date_from", "date_to")
HIDDEN_FILTERS = ("user", "account", "open")


def governance_partial() -> str | None:
    """The governance actions partial, once the governance pages ship it (None before)."""
    try:
        get_template(GOVERNANCE_PARTIAL)
    except TemplateDoesNotExist:
        return None
    return GOVERNANCE_PARTIAL


def queue_params(request, *, console: bool):
    """The filter parameters of a request. The console shows open alerts unless told otherwise
    (`open=` with no value: open and closed); the API and its export never assume a filter."""
    params = request.GET.copy()
    params.pop("page", None)
    if console and "open" not in params:
        params["open"] = "true"
    return params


def alert_filterset(request, *, console: bool = True) -> AlertFilterSet:
    params = queue_params(request, console=console)
    return AlertFilterSet(params or None, queryset=selectors.queue(), request=request)


def reason_label(item: Alert) -> str:
    return RESOLUTION_REASONS.get(item.resolution, {}).get(item.resolution_reason, "")


class AlertQueueView(TenantTemplateView):
    """The queue: filters, newest trigger first, 50 a page, bulk actions for triagers."""

    template_name = "alerts/list.html"
    section = "alerts"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = alert_filterset(self.request).fill_choices()
        valid = filterset.is_valid()
        queryset = filterset.qs if valid else filterset.queryset.none()
        page = Paginator(queryset, PAGE_SIZE).get_page(self.request.GET.get("page"))
        form = filterset.form
        used = describe_filters(form.cleaned_data) if valid else {}
        can_manage = self.may(Action.MANAGE_ALERTS)
        open_value = self.request.GET.get("open", "true")
        context.update(
            filter=filterset,
            main_fields=[form[name] for name in MAIN_FILTERS],
            more_fields=[
                form[name]
                for name in form.fields
                if name not in MAIN_FILTERS and name not in HIDDEN_FILTERS
            ],
            hidden_fields=[form[n] for n in HIDDEN_FILTERS if n != "open" and used.get(n)],
            more_open=any(n not in MAIN_FILTERS and n not in HIDDEN_FILTERS for n in used)
            or any(form[name].errors for name in form.fields),
            page=page,
            rows=list(page),
            filtered=bool(set(used) - {"open"}) or not valid,
            open_value=open_value,
            tabs=self._tabs(open_value),
            pinned=self._pinned(used),
            can_manage=can_manage,
            bulk_form=BulkForm(tenant=self.tenant) if can_manage else None,
            export_query=queue_params(self.request, console=True).urlencode(),
            next_url=self.request.get_full_path(),
        )
        return context

    def _url_with(self, **changes) -> str:
        params = self.request.GET.copy()
        params.pop("page", None)
        for key, value in changes.items():
            params.pop(key, None)
            if value is not None:
                params[key] = value
        url = reverse("alerts:list", args=[self.tenant.slug])
        return f"{url}?{params.urlencode()}" if params else url

    def _tabs(self, open_value: str) -> list[tuple[str, str, bool]]:
        return [
            ("Open", self._url_with(open=None), open_value == "true"),
            ("Closed", self._url_with(open="false"), open_value == "false"),
            ("All", self._url_with(open=""), open_value == ""),
        ]

    def _pinned(self, used: dict) -> list[tuple[str, str, str]]:
        """Filters on one person or account, shown by name with a link that drops them."""
        pinned = []
        if used.get("user"):
            person = CloudUser.objects.filter(pk=used["user"]).first()
            pinned.append(("Person", str(person or "unknown person"), self._url_with(user=None)))
        if used.get("account"):
            account = Account.objects.filter(pk=used["account"]).first()
            name = str(account or "unknown account")
            pinned.append(("Account", name, self._url_with(account=None)))
        return pinned


class AlertBulkView(TenantView):
    """POST-only: apply one operation to the checked rows, then back to the same queue view."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_ALERTS

    def post(self, request, *args, **kwargs):
        form = BulkForm(request.POST, tenant=self.tenant)
        back = self._back(request.POST.get("next", ""))
        if not form.is_valid():
            problems = [e for errors in form.errors.values() for e in errors]
            messages.error(request, "Nothing changed: " + " ".join(problems))
            return redirect(back)
        data = form.cleaned_data
        resolution, reason = split_close_as(data.get("close_as", ""))
        try:
            result = services.bulk_apply(
                tenant=self.tenant,
                actor=request.user,
                ids=data["ids"],
                operation=data["operation"],
                resolution=resolution,
                reason=reason,
                comment=data.get("comment", ""),
                assignee_id=data.get("assignee"),
                request=request,
            )
        except services.AlertRefused as exc:
            messages.error(request, f"Nothing changed: {exc}")
            return redirect(back)
        text = f"{result.changed} alert{'s' if result.changed != 1 else ''} changed"
        if result.unchanged:
            text += f", {result.unchanged} left as they were"
        if result.not_found:
            text += f", {len(result.not_found)} not found"
        messages.success(request, text + ".")
        return redirect(back)

    def _back(self, target: str) -> str:
        queue = reverse("alerts:list", args=[self.tenant.slug])
        safe = url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=False
        )
        return target if safe and target.startswith(queue) else queue


class AlertDetailView(TenantTemplateView):
    """One alert: what was seen, about whom, its activities, history and governance; triage
    forms for those who may triage (see the module doc on the read state)."""

    template_name = "alerts/detail.html"
    section = "alerts"
    write_action = Action.MANAGE_ALERTS

    def get(self, request, *args, **kwargs):
        item = selectors.alert(kwargs["alert_id"])
        if not item.read and self.may(Action.MANAGE_ALERTS):
            fresh = services.mark_read(
                tenant=self.tenant, actor=request.user, alert=item, request=request
            )
            item.read = fresh.read
        return self.render_to_response(self.get_context_data(item=item, **kwargs))

    def post(self, request, *args, alert_id, **kwargs):
        item = selectors.alert(alert_id)
        form = TriageForm(request.POST, tenant=self.tenant)
        if form.is_valid():
            try:
                self._apply(item, form.cleaned_data)
            except services.AlertRefused as exc:
                for name, message in exc.problems.items():
                    target = {"reason": "close_as", "resolution": "close_as"}.get(name, name)
                    form.add_error(target if target in form.fields else None, message)
            else:
                return redirect("alerts:detail", self.tenant.slug, item.pk)
        context = self.get_context_data(item=item, form=form, alert_id=alert_id)
        return self.render_to_response(context, status=400)

    def _apply(self, item: Alert, data: dict) -> None:
        common = {"tenant": self.tenant, "actor": self.request.user, "request": self.request}
        op = data["op"]
        if op == "status":
            services.change_status(alert=item, status=data["status"], **common)
            messages.success(self.request, "Status changed.")
        elif op == "resolve":
            resolution, reason = split_close_as(data["close_as"])
            services.resolve(
                alert=item, resolution=resolution, reason=reason, comment=data["comment"], **common
            )
            messages.success(self.request, "Alert resolved.")
        elif op == "dismiss":
            services.dismiss(alert=item, comment=data["comment"], **common)
            messages.success(self.request, "Alert dismissed.")
        elif op == "assign":
            services.assign(alert=item, assignee_id=data.get("assignee"), **common)
            messages.success(self.request, "Assignee changed.")
        else:
            services.mark_read(alert=item, read=False, **common)
            messages.success(self.request, "Marked unread.")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        item: Alert = kwargs["item"]
        slug = self.tenant.slug
        people = list(item.users.all())
        accounts = list(item.accounts.all())
        # Private activities show only while this reader has revealed them (audited).
        linked = selectors.linked_activities(
            item, include_private=privacy.is_revealed(self.request)
        )
        can_manage = self.may(Action.MANAGE_ALERTS)
        context.update(
            item=item,
            reason=reason_label(item),
            people=people,
            accounts=accounts,
            apps=list(item.apps.all()),
            ips=[(ip, activity_selectors.log_url(slug, ip=ip)) for ip in item.ips or []],
            linked=linked,
            activities=[
                (row, activity_selectors.describe(row), flag(row.country)) for row in linked.rows
            ],
            log_url=selectors.activity_log_url(slug, item, people),
            policy_url=selectors.policy_url(slug, item),
            history=[(e, summarize_details(e.details)) for e in selectors.history(item)],
            governance=list(item.governance_actions.order_by("-created_at")[:50]),
            governance_partial=governance_partial(),
            can_govern=self.may(Action.RUN_GOVERNANCE),
            can_manage=can_manage,
        )
        if can_manage:
            form = kwargs.get("form") or TriageForm(tenant=self.tenant)
            context.update(
                form=form,
                close_as_groups=close_as_groups(),
                members=form.fields["assignee"].choices,
            )
        return context


class AlertExportView(TenantView):
    """CSV of the filtered queue (same parameters as the page), streamed and audited."""

    read_action = Action.EXPORT

    def get(self, request, *args, **kwargs):
        filterset = alert_filterset(request)
        if not filterset.is_valid():
            messages.error(request, "Fix the filters before exporting.")
            url = reverse("alerts:list", args=[self.tenant.slug])
            return redirect(f"{url}?{request.GET.urlencode()}")
        return export.stream(
            tenant=self.tenant,
            queryset=filterset.qs,
            filters=describe_filters(filterset.form.cleaned_data),
            request=request,
        )
