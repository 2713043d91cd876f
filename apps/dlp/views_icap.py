"""The ICAP settings page: every member reads it (with the connection instructions); admins
with MANAGE_SETTINGS switch the service, set the mode and block message, and generate a new
secret (shown once). Writes go through apps.dlp.icap.services (audited, never the secret)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render

from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from .forms_icap import IcapSettingsForm
from .icap import services as icap


def connection(request, tenant) -> dict:
    """What a proxy needs: host, port, scheme and the two service URIs of this tenant."""
    host = settings.ICAP_HOST
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (compared, not bound)
        host = request.get_host().rsplit(":", 1)[0]
    tls = bool(settings.ICAP_TLS_CERT_FILE and settings.ICAP_TLS_KEY_FILE)
    base = f"{'icaps' if tls else 'icap'}://{host}:{settings.ICAP_PORT}/{tenant.slug}"
    return {
        "host": host,
        "port": settings.ICAP_PORT,
        "tls": tls,
        "reqmod": f"{base}/reqmod",
        "respmod": f"{base}/respmod",
        "header": "X-ICAP-Secret",
    }


class IcapSettingsView(TenantTemplateView):
    template_name = "dlp/icap_settings.html"
    section = "settings"
    read_action = Action.VIEW
    write_action = Action.MANAGE_SETTINGS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        row = icap.settings_of_current()
        context.setdefault("form", IcapSettingsForm(initial=IcapSettingsForm.initial_for(row)))
        context.update(icap=row, connection=connection(self.request, self.tenant))
        return context

    def post(self, request, *args, **kwargs):
        form = IcapSettingsForm(request.POST)
        if form.is_valid():
            icap.update_settings(
                tenant=self.tenant, actor=request.user, request=request, **form.cleaned_data
            )
            messages.success(request, "ICAP settings saved.")
            return redirect("icap:settings", self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class IcapSecretView(TenantView):
    """POST-only: generate a new secret; the page shows it once (never stored, never logged)."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_SETTINGS

    def post(self, request, *args, **kwargs):
        new = icap.rotate_secret(tenant=self.tenant, actor=request.user, request=request)
        context = {
            "secret": new.secret,
            "icap": new.settings,
            "connection": connection(request, self.tenant),
            "section": "settings",
        }
        return render(request, "dlp/icap_secret.html", context, status=201)
