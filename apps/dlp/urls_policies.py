"""Console URLs of file policies (mounted under /t/<tenant_slug>/policies/files/)."""

from django.urls import path

from . import policy_views as views

app_name = "file_policies"
urlpatterns = [
    path("new/", views.FilePolicyCreateView.as_view(), name="create"),
    path("<uuid:file_policy_id>/", views.FilePolicyDetailView.as_view(), name="detail"),
    path("<uuid:file_policy_id>/edit/", views.FilePolicyEditView.as_view(), name="edit"),
    path("<uuid:file_policy_id>/enable/", views.FilePolicyEnableView.as_view(), name="enable"),
    path("<uuid:file_policy_id>/disable/", views.FilePolicyDisableView.as_view(), name="disable"),
    path("<uuid:file_policy_id>/delete/", views.FilePolicyDeleteView.as_view(), name="delete"),
]
