"""Settings > Content inspection: the built-in sensitive types with the tenant's thresholds, the
tenant's own types (add, change, delete) and a "try it" box.

Every member reads the page and may use "try it" (it stores nothing and shows only masked
values); changes need `Action.MANAGE_SETTINGS` (readers get 403). Thin: the rules are in
`settings_services`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.shortcuts import get_object_or_404, redirect

from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import settings_services
from .models import CustomSensitiveType
from .settings_forms import CustomTypeForm, ThresholdsForm, TryForm


def _refused(form: Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


class DlpSettingsView(TenantTemplateView):
    """GET the page; POST the thresholds form."""

    template_name = "dlp/settings.html"
    section = "settings"
    write_action = Action.MANAGE_SETTINGS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = settings_services.effective_thresholds()
        context.setdefault("form", ThresholdsForm(rows=rows))
        context.setdefault("try_form", TryForm())
        context.update(
            tab="dlp",
            custom_types=list(CustomSensitiveType.objects.order_by("name")),
            can_manage=self.may(Action.MANAGE_SETTINGS),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = ThresholdsForm(request.POST, rows=settings_services.effective_thresholds())
        if form.is_valid():
            try:
                settings_services.set_thresholds(
                    tenant=self.tenant,
                    actor=request.user,
                    request=request,
                    thresholds=form.thresholds(),
                )
            except ValidationError as exc:
                _refused(form, exc)
            else:
                messages.success(
                    request, "Thresholds saved. They apply to files scanned from now on."
                )
                return redirect("dlp_settings:index", self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class TryView(DlpSettingsView):
    """POST pasted text: the page again with what the tenant's engine finds, masked. Stores
    nothing; any member may use it."""

    http_method_names = ["post"]
    write_action = Action.VIEW

    def post(self, request, *args, **kwargs):
        form = TryForm(request.POST)
        if form.is_valid():
            try:
                results = settings_services.try_text(form.cleaned_data["text"])
            except ValidationError as exc:
                _refused(form, exc)
            else:
                # A blank box again: the page never echoes the pasted values back.
                context = self.get_context_data(try_form=TryForm(), try_results=results, tried=True)
                return self.render_to_response(context)
        return self.render_to_response(self.get_context_data(try_form=form), status=400)


class CustomTypeEditView(TenantTemplateView):
    """Add (no id) or change one custom type. A write page: readers get 403."""

    template_name = "dlp/settings_custom_type.html"
    section = "settings"
    read_action = Action.MANAGE_SETTINGS
    write_action = Action.MANAGE_SETTINGS

    def _custom(self, type_id) -> CustomSensitiveType | None:
        if type_id is None:
            return None
        return get_object_or_404(CustomSensitiveType.objects.all(), pk=type_id)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(tab="dlp", custom=self.custom)
        if "form" not in context:
            context["form"] = (
                CustomTypeForm.for_type(self.custom) if self.custom else CustomTypeForm()
            )
        return context

    def get(self, request, *args, type_id=None, **kwargs):
        self.custom = self._custom(type_id)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, type_id=None, **kwargs):
        self.custom = self._custom(type_id)
        form = CustomTypeForm(request.POST)
        if form.is_valid():
            try:
                if self.custom is None:
                    saved = settings_services.create_custom_type(
                        tenant=self.tenant, actor=request.user, request=request, **form.values()
                    )
                    done = f"Sensitive type “{saved.name}” added as {saved.key}."
                else:
                    saved = settings_services.update_custom_type(
                        tenant=self.tenant,
                        custom=self.custom,
                        actor=request.user,
                        request=request,
                        **form.values(),
                    )
                    done = f"Sensitive type “{saved.name}” saved."
            except ValidationError as exc:
                _refused(form, exc)
            else:
                messages.success(request, f"{done} It applies to files scanned from now on.")
                return redirect("dlp_settings:index", self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class CustomTypeDeleteView(TenantView):
    """POST-only: delete one custom type of this tenant."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_SETTINGS

    def post(self, request, *args, type_id, **kwargs):
        custom = get_object_or_404(CustomSensitiveType.objects.all(), pk=type_id)
        settings_services.delete_custom_type(
            tenant=self.tenant, custom=custom, actor=request.user, request=request
        )
        messages.success(
            request,
            f"Sensitive type “{custom.name}” deleted. Files already scanned keep their matches.",
        )
        return redirect("dlp_settings:index", self.tenant.slug)
