"""Console URLs of the discovery reports (namespace `discovery`)."""

from django.urls import path

from apps.tenants.views.console import section

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
