"""Console URLs of the activities app (mounted under /t/<tenant_slug>/activities/)."""

from django.urls import path

from . import views

app_name = "activities"
urlpatterns = [
    path("", views.ActivityLogView.as_view(), name="list"),
    path("export/", views.ActivityExportView.as_view(), name="export"),
    path("private/reveal/", views.RevealPrivateView.as_view(), name="reveal-private"),
    path("private/hide/", views.HidePrivateView.as_view(), name="hide-private"),
    path("<uuid:activity_id>/", views.ActivityDetailView.as_view(), name="detail"),
]
