"""Console URLs of the alerts app (mounted under /t/<tenant_slug>/)."""

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
    path(
        "policies/",
        section(
            "policies",
            "Policies",
            "No policies",
            "Activity, file and anomaly detection policies will be managed here.",
        ),
        name="policies",
    ),
]
