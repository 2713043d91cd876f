"""Tenant-scoped console URLs of the tenants app (mounted under /t/<tenant_slug>/)."""

from django.urls import include, path

from .views import console

app_name = "tenants"
urlpatterns = [
    path("", console.DashboardView.as_view(), name="dashboard"),
    path("search/", console.SearchView.as_view(), name="search"),
    path("settings/", console.GeneralSettingsView.as_view(), name="settings"),
    path("settings/members/", console.MembersView.as_view(), name="members"),
    path(
        "settings/members/<uuid:membership_id>/",
        console.MemberView.as_view(),
        name="member",
    ),
    path("", include("apps.tenants.urls_security")),
    path("", include("apps.tenants.urls_tokens")),
]
