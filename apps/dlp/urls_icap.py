"""Console URLs of the tenant's ICAP service (mounted under /t/<tenant_slug>/settings/icap/)."""

from django.urls import path

from .views_icap import IcapSecretView, IcapSettingsView

app_name = "icap"
urlpatterns = [
    path("", IcapSettingsView.as_view(), name="settings"),
    path("secret/", IcapSecretView.as_view(), name="secret"),
]
