"""Console URLs of the governance app (mounted under /t/<tenant_slug>/governance/)."""

from django.urls import path

from . import views

app_name = "governance"
urlpatterns = [
    path("", views.GovernanceLogView.as_view(), name="log"),
    path("export/", views.GovernanceExportView.as_view(), name="export"),
    path("run/", views.RunActionView.as_view(), name="run"),
    path("<uuid:action_id>/", views.GovernanceDetailView.as_view(), name="detail"),
    path("<uuid:action_id>/retry/", views.RetryActionView.as_view(), name="retry"),
]
