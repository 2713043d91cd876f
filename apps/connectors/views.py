"""Settings > Connected apps: list, add, detail/edit, pause/resume, poll now, delete.

Thin: reads through `selectors`, writes through `services`. Every member may look; changes
need Action.MANAGE_SETTINGS (the base view answers 403 otherwise). Secrets are never rendered.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect

from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import selectors, services, status
from .adapters import adapter_class
from .forms import InstanceForm, VendorForm
from .models import AppInstance


class AppListView(TenantTemplateView):
    template_name = "connectors/list.html"
    section = "settings"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = selectors.rows(selectors.instances())
        context["can_manage"] = self.may(Action.MANAGE_SETTINGS)
        return context


class AppCreateView(TenantTemplateView):
    """Pick a vendor (GET without ?vendor=), then fill in its fields."""

    template_name = "connectors/new.html"
    section = "settings"
    read_action = Action.MANAGE_SETTINGS
    write_action = Action.MANAGE_SETTINGS

    def _vendor(self) -> str:
        vendor = self.request.POST.get("vendor") or self.request.GET.get("vendor") or ""
        return vendor if adapter_class(vendor) is not None else ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        vendor = self._vendor()
        context["vendor_form"] = kwargs.get("vendor_form") or VendorForm(
            initial={"vendor": vendor}, choices=selectors.vendor_choices()
        )
        context["vendor"] = vendor
        context["vendor_label"] = dict(selectors.vendor_choices()).get(vendor, "")
        if vendor and "form" not in kwargs:
            context["form"] = InstanceForm(vendor=vendor)
        return context

    def post(self, request, *args, **kwargs):
        vendor = self._vendor()
        if not vendor:
            vendor_form = VendorForm(request.POST, choices=selectors.vendor_choices())
            vendor_form.is_valid()
            context = self.get_context_data(vendor_form=vendor_form)
            return self.render_to_response(context, status=400)
        form = InstanceForm(request.POST, vendor=vendor)
        if form.is_valid():
            try:
                instance = services.create_instance(
                    tenant=self.tenant,
                    actor=request.user,
                    vendor=vendor,
                    name=form.cleaned_data["name"],
                    base_url=form.cleaned_data["base_url"],
                    credentials=form.credentials,
                    request=request,
                )
            except services.InstanceRefused as exc:
                form.add_problems(exc.problems)
            else:
                messages.success(request, f"“{instance.name}” connected; the first poll is due.")
                return redirect("connectors:detail", self.tenant.slug, instance.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class InstanceMixin:
    def get_instance(self, instance_id) -> AppInstance:
        return get_object_or_404(selectors.instances(), pk=instance_id)


class AppDetailView(InstanceMixin, TenantTemplateView):
    """Status, cursors and recent status changes; admins edit name, URL and credentials."""

    template_name = "connectors/detail.html"
    section = "settings"
    write_action = Action.MANAGE_SETTINGS

    def _form(self, instance: AppInstance, data=None) -> InstanceForm:
        return InstanceForm(
            data,
            vendor=instance.vendor,
            editing=True,
            public=selectors.public_credentials(instance),
            initial={"name": instance.name, "base_url": instance.base_url},
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        instance = kwargs.get("instance") or self.get_instance(self.kwargs["instance_id"])
        context.update(
            instance=instance,
            words=status.words(instance),
            health=status.health(instance),
            cursors=selectors.cursors(instance),
            changes=selectors.recent_status(instance),
            credentials_set=selectors.credential_names_set(instance),
            can_manage=self.may(Action.MANAGE_SETTINGS),
        )
        if context["can_manage"]:
            context.setdefault("form", kwargs.get("form") or self._form(instance))
        return context

    def post(self, request, *args, instance_id, **kwargs):
        instance = self.get_instance(instance_id)
        form = self._form(instance, request.POST)
        if form.is_valid():
            try:
                services.update_instance(
                    instance=instance,
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    base_url=form.cleaned_data["base_url"],
                    credentials=form.credentials,
                    request=request,
                )
            except services.InstanceRefused as exc:
                form.add_problems(exc.problems)
            else:
                messages.success(request, "Saved.")
                return redirect("connectors:detail", self.tenant.slug, instance.pk)
        context = self.get_context_data(instance=instance, form=form)
        return self.render_to_response(context, status=400)


class _InstanceAction(InstanceMixin, TenantView):
    http_method_names = ["post"]
    write_action = Action.MANAGE_SETTINGS

    def post(self, request, *args, instance_id, **kwargs):
        instance = self.get_instance(instance_id)
        try:
            target = self.act(instance)
        except services.InstanceRefused as exc:
            messages.error(request, str(exc))
            target = None
        return target or redirect("connectors:detail", self.tenant.slug, instance.pk)

    def act(self, instance: AppInstance):
        raise Http404


class AppPollView(_InstanceAction):
    def act(self, instance):
        services.request_poll(instance=instance)
        messages.success(self.request, "A poll is on its way; this page shows its outcome.")


class AppPauseView(_InstanceAction):
    def act(self, instance):
        services.set_enabled(
            instance=instance, actor=self.request.user, enabled=False, request=self.request
        )
        messages.success(self.request, f"“{instance.name}” paused.")


class AppResumeView(_InstanceAction):
    def act(self, instance):
        services.set_enabled(
            instance=instance, actor=self.request.user, enabled=True, request=self.request
        )
        messages.success(self.request, f"“{instance.name}” resumed.")


class AppDeleteView(_InstanceAction):
    def act(self, instance):
        services.delete_instance(instance=instance, actor=self.request.user, request=self.request)
        messages.success(self.request, f"“{instance.name}” disconnected.")
        return redirect("connectors:list", self.tenant.slug)
