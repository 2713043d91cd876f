"""Console URLs of the privacy pages: Retention."""

from django.urls import path

from apps.tenants.views.console import section

urlpatterns = [
    path(
        "retention/",
        section("settings", "Retention", "Retention periods", "Being built (issue 6)."),
        name="retention",
    ),
]
