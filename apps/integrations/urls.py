"""Console URLs of Settings > Integrations (mounted under settings/integrations/)."""

from django.urls import path

from . import views

app_name = "integrations"
urlpatterns = [
    path("", views.IntegrationsView.as_view(), name="list"),
    path("new/siem/", views.AddSiemView.as_view(), name="add-siem"),
    path("new/webhook/", views.AddWebhookView.as_view(), name="add-webhook"),
    path("<uuid:destination_id>/", views.DestinationView.as_view(), name="detail"),
    path("<uuid:destination_id>/turn-on/", views.TurnOnView.as_view(), name="turn-on"),
    path("<uuid:destination_id>/turn-off/", views.TurnOffView.as_view(), name="turn-off"),
    path(
        "<uuid:destination_id>/rotate-secret/",
        views.RotateSecretView.as_view(),
        name="rotate-secret",
    ),
    path("<uuid:destination_id>/delete/", views.DestinationDeleteView.as_view(), name="delete"),
    path("dead-letters/<uuid:letter_id>/resend/", views.ResendView.as_view(), name="resend"),
]
