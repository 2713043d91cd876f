"""Console URLs of the dlp app (mounted under /t/<tenant_slug>/)."""

from django.urls import path

from apps.tenants.views.console import section

app_name = "dlp"
urlpatterns = [
    path(
        "",
        section(
            "files",
            "Files",
            "No files scanned",
            "Files inspected by content inspection appear here "
            "with their matches, never their content.",
        ),
        name="files",
    ),
]
