"""The console shell: tenant picker, dashboard, search, general settings and members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from .. import audit, services
from ..forms import AddMemberForm, ChangeRoleForm, TenantGeneralForm
from ..permissions import Action
from ..routing import alias_for_geo
from ..search import search
from ..selectors import memberships, tenants_of
from .base import TenantTemplateView

User = get_user_model()


@login_required
def home(request):
    """Send a person with one tenant straight to it; let others pick."""
    tenants = list(tenants_of(request.user))
    if len(tenants) == 1:
        return redirect("tenants:dashboard", tenants[0].slug)
    return render(request, "tenants/pick_tenant.html", {"tenants": tenants})


class DashboardView(TenantTemplateView):
    template_name = "tenants/dashboard.html"
    section = "dashboard"


class SearchView(TenantTemplateView):
    template_name = "tenants/search.html"
    section = "search"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("q", "").strip()[:200]
        context["q"] = query
        context["results"] = search(self.request, query) if len(query) >= 2 else {}
        return context


class GeneralSettingsView(TenantTemplateView):
    template_name = "tenants/settings_general.html"
    section = "settings"
    write_action = Action.MANAGE_LIFECYCLE

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", TenantGeneralForm(instance=self.tenant))
        context["db_alias"] = alias_for_geo(self.tenant.geo)
        return context

    def post(self, request, *args, **kwargs):
        form = TenantGeneralForm(request.POST, instance=self.tenant)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        if form.has_changed():
            form.save()
            audit.record(
                self.tenant,
                "settings.changed",
                request=request,
                target=self.tenant,
                details={"fields": form.changed_data, "name": self.tenant.name},
            )
        messages.success(request, "Settings saved.")
        return redirect("tenants:settings", self.tenant.slug)


class MembersView(TenantTemplateView):
    template_name = "tenants/members.html"
    section = "settings"
    write_action = Action.MANAGE_MEMBERS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["memberships"] = memberships(self.tenant)
        context.setdefault("form", AddMemberForm())
        context["role_form"] = ChangeRoleForm()
        return context

    def post(self, request, *args, **kwargs):
        form = AddMemberForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        services.set_role(
            tenant=self.tenant,
            user=form.cleaned_data["user"],
            role=form.cleaned_data["role"],
            actor=request.user,
            request=request,
        )
        messages.success(request, f"{form.cleaned_data['user'].get_username()} added.")
        return redirect("tenants:members", self.tenant.slug)


class MemberView(TenantTemplateView):
    """POST-only: change a member's role, put them on or off the activity-privacy list, or
    remove them."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_MEMBERS

    def post(self, request, *args, membership_id, **kwargs):
        membership = get_object_or_404(memberships(self.tenant), pk=membership_id)
        try:
            if request.POST.get("private") in ("grant", "revoke"):
                allowed = request.POST["private"] == "grant"
                services.set_private_viewer(
                    tenant=self.tenant,
                    user=membership.user,
                    allowed=allowed,
                    actor=request.user,
                    request=request,
                )
                name = membership.user.get_username()
                messages.success(
                    request,
                    f"{name} may now reveal private activities (each reveal is audited)."
                    if allowed
                    else f"{name} may no longer view private activities.",
                )
            elif request.POST.get("remove"):
                services.remove_member(
                    tenant=self.tenant, user=membership.user, actor=request.user, request=request
                )
                messages.success(request, f"{membership.user.get_username()} removed.")
            else:
                form = ChangeRoleForm(request.POST)
                if not form.is_valid():
                    messages.error(request, "Pick one of the listed roles.")
                    return redirect("tenants:members", self.tenant.slug)
                services.set_role(
                    tenant=self.tenant,
                    user=membership.user,
                    role=form.cleaned_data["role"],
                    actor=request.user,
                    request=request,
                )
                messages.success(request, f"Role of {membership.user.get_username()} changed.")
        except (services.LastGlobalAdminError, services.NotAnAdminError) as exc:
            messages.error(request, str(exc))
        return redirect("tenants:members", self.tenant.slug)


class SectionView(TenantTemplateView):
    """A top-level console section whose data arrives with a later module (empty state)."""

    template_name = "tenants/section_empty.html"
    title = ""
    empty_title = ""
    empty_text = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=self.title, empty_title=self.empty_title, empty_text=self.empty_text)
        return context


def section(name: str, title: str, empty_title: str, empty_text: str):
    return type(
        f"{name.title().replace('_', '')}View",
        (SectionView,),
        {"section": name, "title": title, "empty_title": empty_title, "empty_text": empty_text},
    ).as_view()


def not_found(request, *args, **kwargs):
    raise Http404()
