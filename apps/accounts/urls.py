"""Console URLs of the accounts app (mounted under /t/<tenant_slug>/)."""

from django.urls import path

from apps.tenants.views.console import section

app_name = "accounts"
urlpatterns = [
    path(
        "",
        section(
            "users",
            "Users and accounts",
            "No users yet",
            "People and their per-app accounts are pulled from connected apps.",
        ),
        name="list",
    ),
]
