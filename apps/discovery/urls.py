"""Console URLs of the discovery app (mounted under /t/<tenant_slug>/)."""

from django.urls import path

from apps.tenants.views.console import section

app_name = "discovery"
urlpatterns = [
    path(
        "",
        section(
            "discovery",
            "Cloud Discovery",
            "No discovery data",
            "Upload firewall or proxy logs to see the cloud apps in use.",
        ),
        name="dashboard",
    ),
]
