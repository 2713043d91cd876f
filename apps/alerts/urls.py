"""Console URLs of the alert queue (mounted under /t/<tenant_slug>/alerts/)."""

from django.urls import path

from . import views

app_name = "alerts"
urlpatterns = [
    path("", views.AlertQueueView.as_view(), name="list"),
    path("bulk/", views.AlertBulkView.as_view(), name="bulk"),
    path("export/", views.AlertExportView.as_view(), name="export"),
    path("<uuid:alert_id>/", views.AlertDetailView.as_view(), name="detail"),
]
