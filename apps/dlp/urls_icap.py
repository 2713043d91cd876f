"""Console URLs of the tenant's ICAP service (mounted under /t/<tenant_slug>/settings/icap/)."""

from django.urls import path

from apps.tenants.views.console import section

app_name = "icap"
urlpatterns = [
    path(
        "",
        section("settings", "ICAP", "ICAP service", "Let proxies send files for inspection."),
        name="settings",
    ),
]
