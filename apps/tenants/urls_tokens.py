"""API token pages (placeholder until built)."""

from django.urls import path

from .views.console import section

urlpatterns = [
    path("settings/tokens/", section("settings", "API tokens", "Not built yet", ""), name="tokens"),
]
