"""Console URLs of the privacy pages: Scoped deployment and privacy."""

from django.urls import path

from apps.tenants.views.console import section

urlpatterns = [
    path(
        "scope/",
        section(
            "settings",
            "Scoped deployment and privacy",
            "Scoped deployment",
            "Being built (issue 6).",
        ),
        name="scope",
    ),
]
