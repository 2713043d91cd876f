"""Portal security and audit pages (placeholder until built)."""

from django.urls import path

from .views.console import section

urlpatterns = [
    path(
        "settings/security/",
        section("settings", "Portal security", "Not built yet", ""),
        name="portal-security",
    ),
    path("audit/", section("audit", "Audit log", "Not built yet", ""), name="audit"),
]
