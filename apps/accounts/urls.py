"""Console URLs of users and accounts (mounted under /t/<tenant_slug>/users/)."""

from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.DirectoryView.as_view(), name="list"),
    path("<uuid:user_id>/", views.PersonPageView.as_view(), name="detail"),
]
