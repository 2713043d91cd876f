"""The console's base view: resolves the tenant and the role once per request.

Every tenant page inherits `TenantView`. It answers 404 for a tenant the user is not a member
of (the same as a tenant that does not exist), applies the access gate (status, networks,
countries, MFA), checks the action the HTTP method needs, and runs the handler inside the
tenant's scope so every query is scoped and geo-routed.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View
from django.views.generic import TemplateView

from ..gate import mfa_satisfied, request_denial
from ..models import Tenant
from ..permissions import Action, allowed_actions
from ..scoping import tenant_context

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def resolve_member_tenant(user, slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug, memberships__user=user).first()
    if tenant is None:
        raise Http404("No such tenant")
    return tenant


def has_otp_device(user) -> bool:
    from django_otp import devices_for_user

    return any(True for _ in devices_for_user(user, confirmed=True))


class TenantView(View):
    """Base of every page under /t/<tenant_slug>/."""

    read_action: Action = Action.VIEW
    write_action: Action | None = None  # None: the page has no writes
    section = ""  # highlights the navigation entry

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        tenant = resolve_member_tenant(request.user, kwargs.pop("tenant_slug"))
        denial = request_denial(request, tenant)
        if denial is not None:
            return render(
                request,
                "tenants/access_denied.html",
                {"denial": denial, "denied_tenant": tenant},
                status=403,
            )
        if not mfa_satisfied(request, tenant):
            target = "mfa-verify" if has_otp_device(request.user) else "mfa-enrol"
            query = urlencode({"next": request.get_full_path(), "tenant": tenant.slug})
            return redirect(f"{reverse(target)}?{query}")
        request.tenant = self.tenant = tenant
        request.actions = self.actions = allowed_actions(request.user, tenant)
        handler = getattr(self, request.method.lower(), None)
        if handler is not None and request.method.lower() in self.http_method_names:
            needed = self.read_action if request.method in SAFE_METHODS else self.write_action
            if needed is None or needed not in self.actions:
                raise PermissionDenied("Your role does not allow this.")
        with tenant_context(tenant):
            return super().dispatch(request, *args, **kwargs)

    def may(self, action: Action) -> bool:
        return action in self.actions


def filtered_page(request, filterset, page_size: int) -> dict:
    """The context of a filtered, paged list page: an invalid filter shows its errors and no
    rows (never everything); `filter_query` carries the filters into the page links."""
    valid = filterset.is_valid() or not filterset.is_bound
    queryset = filterset.qs if valid else filterset.queryset.none()
    page = Paginator(queryset, page_size).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return {
        "filter": filterset,
        "page": page,
        "rows": list(page),
        "filtered": bool(params),
        "filter_query": params.urlencode(),
    }


class TenantTemplateView(TenantView, TemplateView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["section"] = self.section
        return context
