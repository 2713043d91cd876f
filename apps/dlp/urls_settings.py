"""Console URLs of content inspection settings (mounted under /t/<tenant_slug>/settings/dlp/)."""

from django.urls import path

from . import settings_views as views

app_name = "dlp_settings"
urlpatterns = [
    path("", views.DlpSettingsView.as_view(), name="index"),
    path("try/", views.TryView.as_view(), name="try"),
    path("types/new/", views.CustomTypeEditView.as_view(), name="custom-new"),
    path("types/<uuid:type_id>/", views.CustomTypeEditView.as_view(), name="custom-edit"),
    path(
        "types/<uuid:type_id>/delete/", views.CustomTypeDeleteView.as_view(), name="custom-delete"
    ),
]
