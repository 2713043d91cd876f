"""Settings > IP ranges: list with an add form, edit, delete. Thin: rules in `iprange_services`.

Every member reads the list; adding, changing and deleting need `Action.MANAGE_SETTINGS`
(security admins and global admins). The edit page is a write page: readers get 403 there.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect

from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import iprange_services
from .iprange_forms import IpRangeForm
from .models import IpCategory

# Badge colour per category (classes of console.css).
CATEGORY_BADGES = {
    IpCategory.CORPORATE: "ok",
    IpCategory.ADMINISTRATIVE: "geo",
    IpCategory.RISKY: "bad",
    IpCategory.VPN: "warn",
    IpCategory.CLOUD_PROVIDER: "geo",
    IpCategory.OTHER: "",
}


def _refused(form: IpRangeForm, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


class IpRangeListView(TenantTemplateView):
    template_name = "activities/ip_ranges.html"
    section = "settings"
    write_action = Action.MANAGE_SETTINGS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [
            {"range": r, "badge": CATEGORY_BADGES.get(r.category, "")}
            for r in iprange_services.ranges_of(self.tenant)
        ]
        if self.may(Action.MANAGE_SETTINGS):
            context.setdefault("form", IpRangeForm())
        return context

    def post(self, request, *args, **kwargs):
        form = IpRangeForm(request.POST)
        if form.is_valid():
            try:
                ip_range = iprange_services.create_range(
                    tenant=self.tenant, actor=request.user, request=request, **form.values()
                )
            except ValidationError as exc:
                _refused(form, exc)
            else:
                messages.success(request, f"IP range “{ip_range.name}” added.")
                return redirect("ipranges:list", self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class IpRangeEditView(TenantTemplateView):
    template_name = "activities/ip_range_edit.html"
    section = "settings"
    read_action = Action.MANAGE_SETTINGS
    write_action = Action.MANAGE_SETTINGS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["ip_range"] = self.ip_range
        context.setdefault("form", IpRangeForm.for_range(self.ip_range))
        return context

    def dispatch_range(self, range_id):
        self.ip_range = get_object_or_404(iprange_services.ranges_of(self.tenant), pk=range_id)

    def get(self, request, *args, range_id, **kwargs):
        self.dispatch_range(range_id)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, range_id, **kwargs):
        self.dispatch_range(range_id)
        form = IpRangeForm.for_range(self.ip_range, request.POST)
        if form.is_valid():
            try:
                iprange_services.update_range(
                    tenant=self.tenant,
                    ip_range=self.ip_range,
                    actor=request.user,
                    request=request,
                    **form.values(),
                )
            except ValidationError as exc:
                _refused(form, exc)
            else:
                messages.success(request, f"IP range “{form.values()['name']}” saved.")
                return redirect("ipranges:list", self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class IpRangeDeleteView(TenantView):
    """POST-only: delete one range of this tenant."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_SETTINGS

    def post(self, request, *args, range_id, **kwargs):
        ip_range = get_object_or_404(iprange_services.ranges_of(self.tenant), pk=range_id)
        iprange_services.delete_range(
            tenant=self.tenant, ip_range=ip_range, actor=request.user, request=request
        )
        messages.success(
            request,
            f"IP range “{ip_range.name}” deleted. Activities already tagged with it keep "
            "their category and tags.",
        )
        return redirect("ipranges:list", self.tenant.slug)
