"""Console URLs of the governance app (mounted under /t/<tenant_slug>/)."""

from django.urls import path

from apps.tenants.views.console import section

app_name = "governance"
urlpatterns = [
    path(
        "",
        section(
            "governance",
            "Governance log",
            "No governance actions yet",
            "Every action run through an app connector, by an admin or a policy, is logged here.",
        ),
        name="log",
    ),
]
