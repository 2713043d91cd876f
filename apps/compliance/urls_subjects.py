"""Console URLs of the privacy pages: Data subject requests."""

from django.urls import path

from apps.tenants.views.console import section

urlpatterns = [
    path(
        "requests/",
        section(
            "settings", "Data subject requests", "Data subject requests", "Being built (issue 6)."
        ),
        name="subjects",
    ),
]
