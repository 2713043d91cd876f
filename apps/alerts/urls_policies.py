"""Console URLs of policies and anomaly detections (mounted under /t/<tenant_slug>/policies/)."""

from django.urls import path

from . import policy_views as views

app_name = "policies"
urlpatterns = [
    path("", views.PolicyListView.as_view(), name="list"),
    path("detections/", views.DetectionListView.as_view(), name="detections"),
    path("detections/<uuid:policy_id>/", views.DetectionView.as_view(), name="detection"),
    path("templates/", views.TemplateCatalogView.as_view(), name="templates"),
    path("new/", views.PolicyCreateView.as_view(), name="create"),
    path("<uuid:policy_id>/", views.PolicyDetailView.as_view(), name="detail"),
    path("<uuid:policy_id>/edit/", views.PolicyEditView.as_view(), name="edit"),
    path("<uuid:policy_id>/enable/", views.PolicyEnableView.as_view(), name="enable"),
    path("<uuid:policy_id>/disable/", views.PolicyDisableView.as_view(), name="disable"),
    path("<uuid:policy_id>/delete/", views.PolicyDeleteView.as_view(), name="delete"),
]
