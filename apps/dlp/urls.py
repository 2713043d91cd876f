"""Console URLs of the dlp app: the Files list (mounted under /t/<tenant_slug>/files/)."""

from django.urls import path

from . import views

app_name = "dlp"
urlpatterns = [
    path("", views.FilesView.as_view(), name="files"),
    path("export/", views.FilesExportView.as_view(), name="files-export"),
    path("<uuid:file_id>/", views.FileDetailView.as_view(), name="file"),
    path("<uuid:file_id>/govern/", views.FileGovernView.as_view(), name="file-govern"),
]
