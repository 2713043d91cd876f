"""Console URLs of the privacy pages: Data location and transparency."""

from django.urls import path

from apps.tenants.views.console import section

urlpatterns = [
    path(
        "data-location/",
        section(
            "settings", "Data location and transparency", "Data location", "Being built (issue 6)."
        ),
        name="location",
    ),
]
