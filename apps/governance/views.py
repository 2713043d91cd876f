"""Console pages of governance: the log (filters, pages, CSV), one action, retry, and the
endpoint the action buttons post to."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView, filtered_page

from . import export, selectors, services
from .filtersets import GovernanceFilterSet
from .forms import RunActionForm
from .models import GovernanceStatus

PAGE_SIZE = 50


def log_filterset(request) -> GovernanceFilterSet:
    params = request.GET.copy()
    params.pop("page", None)
    return GovernanceFilterSet(params or None, queryset=selectors.actions(), request=request)


class GovernanceLogView(TenantTemplateView):
    """Every governance action, newest first: who or which policy, what, on whom, the outcome."""

    template_name = "governance/log.html"
    section = "governance"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = log_filterset(self.request).fill_choices()
        context.update(filtered_page(self.request, filterset, PAGE_SIZE))
        return context


class GovernanceDetailView(TenantTemplateView):
    """One action: its target, who asked, every attempt's outcome, and its retries."""

    template_name = "governance/detail.html"
    section = "governance"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        item = selectors.action(kwargs["action_id"])
        if item is None:
            raise Http404("No such governance action")
        context.update(
            item=item,
            retries=list(item.retries.order_by("created_at")),
            can_retry=item.status == GovernanceStatus.FAILED and self.may(Action.RUN_GOVERNANCE),
        )
        return context


class GovernanceExportView(TenantView):
    """CSV of the filtered log (the page's parameters), streamed and audited."""

    read_action = Action.EXPORT

    def get(self, request, *args, **kwargs):
        filterset = log_filterset(request)
        if filterset.is_bound and not filterset.is_valid():
            messages.error(request, "Fix the filters before exporting.")
            url = reverse("governance:log", args=[self.tenant.slug])
            return redirect(f"{url}?{request.GET.urlencode()}")
        cleaned = filterset.form.cleaned_data if filterset.is_bound else {}
        return export.stream(
            tenant=self.tenant, queryset=filterset.qs, cleaned=cleaned, request=request
        )


def _back(request, tenant, fallback: str):
    """Where the form was posted from (a page of this site), else `fallback`."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if target and safe and target.startswith(f"/t/{tenant.slug}/"):
        return redirect(target)
    return redirect(fallback)


class RunActionView(TenantView):
    """POST: request one action (from the buttons of the person, alert or log pages)."""

    write_action = Action.RUN_GOVERNANCE
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        log_url = reverse("governance:log", args=[self.tenant.slug])
        form = RunActionForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"The action was not requested. {form.problems()}")
            return _back(request, self.tenant, log_url)
        data = form.cleaned_data
        try:
            action = services.request_manual(
                kind=data["kind"],
                actor=request.user,
                request=request,
                account=data.get("account_object"),
                app_instance=data.get("app_object"),
                file_id=data["file_id"],
                client_id=data["client_id"],
                target_label=data["target_label"],
                alert=data.get("alert_object"),
                comment=data["comment"],
            )
        except services.GovernanceRefused as exc:
            messages.error(request, f"The action was not requested: {exc}")
            return _back(request, self.tenant, log_url)
        messages.success(
            request,
            f"{action.get_kind_display()} on {action.target_label} was requested; the "
            "governance log shows how it goes.",
        )
        detail = reverse("governance:detail", args=[self.tenant.slug, action.pk])
        return _back(request, self.tenant, detail)


class RetryActionView(TenantView):
    """POST: run a failed action again (a new entry of the log, linked to the failed one)."""

    write_action = Action.RUN_GOVERNANCE
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        original = selectors.action(kwargs["action_id"])
        if original is None:
            raise Http404("No such governance action")
        try:
            retry = services.retry_action(action=original, actor=request.user, request=request)
        except services.GovernanceRefused as exc:
            messages.error(request, str(exc))
            return redirect("governance:detail", self.tenant.slug, original.pk)
        messages.success(request, "The action is being tried again.")
        return redirect("governance:detail", self.tenant.slug, retry.pk)
