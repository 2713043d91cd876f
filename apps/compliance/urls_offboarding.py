"""Console URLs of the privacy pages: Subscription and offboarding."""

from django.urls import path

from apps.tenants.views.console import section

urlpatterns = [
    path(
        "subscription/",
        section(
            "settings", "Subscription and offboarding", "Subscription", "Being built (issue 6)."
        ),
        name="offboarding",
    ),
]
