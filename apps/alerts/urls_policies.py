"""Console URLs of policies and anomaly detections (mounted under /t/<tenant_slug>/policies/)."""

from django.urls import path

from apps.tenants.views.console import section

app_name = "policies"
urlpatterns = [
    path(
        "",
        section(
            "policies",
            "Policies",
            "No policies",
            "Activity, file and anomaly detection policies will be managed here.",
        ),
        name="list",
    ),
]
