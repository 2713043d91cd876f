"""Console page of the subscription and offboarding: status, export, cancel, reactivate.

Thin: the rules are in `offboarding`, the archive in `tenant_export`. Every member sees the page
(status and the deletion date concern everyone); the actions need the lifecycle right.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect

from apps.tenants.models import TenantStatus
from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import offboarding
from .api.offboarding import export_response
from .forms_offboarding import CancelForm
from .inventory import KINDS, tenant_models


def _what_goes() -> list[tuple[str, str]]:
    """(label, description) of what the deletion removes, from the data inventory."""
    items = [(kind.label, kind.description) for kind in KINDS.values()]
    items.append(
        (
            "Everything else",
            "Connected apps and their credentials, people, accounts and groups, IP ranges, "
            "policies and detections, discovery sources, reports, tags and custom apps, the "
            "pseudonymisation key, privacy and retention settings and their records: all "
            f"{len(tenant_models())} kinds of record held for the tenant.",
        )
    )
    items.append(
        (
            "Members, API tokens and the audit log",
            "Every membership and role, portal accounts that belong to no other tenant, every API "
            "token, the audit log and its anchors, and uploaded logs still waiting to be parsed.",
        )
    )
    return items


class OffboardingView(TenantTemplateView):
    """The subscription's status and what cancelling does."""

    template_name = "compliance/offboarding.html"
    section = "settings"
    read_action = Action.VIEW

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", CancelForm(tenant=self.tenant))
        context.update(
            grace_days=settings.TENANT_DELETION_GRACE_DAYS,
            what_goes=_what_goes(),
            cancelled=self.tenant.status == TenantStatus.CANCELLED,
        )
        return context


class CancelView(OffboardingView):
    """POST: cancel (the slug typed to confirm); a wrong or missing slug re-renders with 400."""

    write_action = Action.MANAGE_LIFECYCLE
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = CancelForm(request.POST, tenant=self.tenant)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            offboarding.cancel(
                tenant=self.tenant,
                actor=request.user,
                confirm_slug=form.cleaned_data["confirm"],
                request=request,
            )
        except offboarding.OffboardingError as exc:
            form.add_error(None, str(exc))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        # The banner every page now shows gives the deletion date; this only confirms the step.
        messages.success(request, "Subscription cancelled.")
        return redirect("compliance:offboarding", self.tenant.slug)


class ReactivateView(TenantView):
    """POST: undo the cancellation during the grace period."""

    write_action = Action.MANAGE_LIFECYCLE
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            offboarding.reactivate(tenant=self.tenant, actor=request.user, request=request)
        except offboarding.OffboardingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "The subscription is active again; nothing will be deleted.")
        return redirect("compliance:offboarding", self.tenant.slug)


class ExportView(TenantView):
    """GET: the whole tenant as one streamed ZIP (global admins)."""

    read_action = Action.MANAGE_LIFECYCLE
    http_method_names = ["get"]

    def get(self, request, *args, **kwargs):
        return export_response(self.tenant, actor=request.user, request=request)
