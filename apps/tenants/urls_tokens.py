"""API token pages: Settings > API tokens."""

from django.urls import path

from .views.tokens import TokenRevokeView, TokensView

urlpatterns = [
    path("settings/tokens/", TokensView.as_view(), name="tokens"),
    path(
        "settings/tokens/<uuid:token_id>/revoke/",
        TokenRevokeView.as_view(),
        name="token-revoke",
    ),
]
