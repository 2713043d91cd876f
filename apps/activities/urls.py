"""Console URLs of the activities app (mounted under /t/<tenant_slug>/activities/)."""

from django.urls import path

from . import views

app_name = "activities"
urlpatterns = [
    path("", views.ActivityLogView.as_view(), name="list"),
    path("export/", views.ActivityExportView.as_view(), name="export"),
    path("<uuid:activity_id>/", views.ActivityDetailView.as_view(), name="detail"),
]
