"""The data location and transparency page: where each kind of the tenant's data lives, for
how long, and which integrations receive which data. Every member may read it."""

from __future__ import annotations

from apps.integrations.registry import grouped_for
from apps.tenants.views.base import TenantTemplateView

from .location import data_location


class LocationView(TenantTemplateView):
    template_name = "compliance/location.html"
    section = "settings"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["location"] = data_location(tenant=self.tenant)
        context["groups"] = grouped_for(tenant=self.tenant)
        return context
