"""Console URLs of file policies (mounted under /t/<tenant_slug>/policies/files/)."""

from django.urls import path

from apps.tenants.views.console import section

app_name = "file_policies"
urlpatterns = [
    path(
        "new/",
        section("policies", "New file policy", "File policies", "Create a file policy."),
        name="create",
    ),
]
