"""Console URLs of the privacy pages: Retention."""

from django.urls import path

from .views_retention import RetentionView

urlpatterns = [
    path("retention/", RetentionView.as_view(), name="retention"),
]
