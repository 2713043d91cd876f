"""Console URLs of the alert queue (mounted under /t/<tenant_slug>/alerts/)."""

from django.urls import path

from apps.tenants.views.console import section

app_name = "alerts"
urlpatterns = [
    path(
        "",
        section(
            "alerts",
            "Alerts",
            "No alerts",
            "Alerts raised by policies and anomaly detections will be listed here.",
        ),
        name="list",
    ),
]
