"""Console URLs of content inspection settings (mounted under /t/<tenant_slug>/settings/dlp/)."""

from django.urls import path

from apps.tenants.views.console import section

app_name = "dlp_settings"
urlpatterns = [
    path(
        "",
        section(
            "settings",
            "Content inspection",
            "Content inspection",
            "Sensitive information types and thresholds.",
        ),
        name="index",
    ),
]
