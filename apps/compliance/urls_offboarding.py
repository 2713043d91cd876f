"""Console URLs of the privacy pages: Subscription and offboarding."""

from django.urls import path

from .views_offboarding import CancelView, ExportView, OffboardingView, ReactivateView

urlpatterns = [
    path("subscription/", OffboardingView.as_view(), name="offboarding"),
    path("subscription/cancel/", CancelView.as_view(), name="offboarding-cancel"),
    path("subscription/reactivate/", ReactivateView.as_view(), name="offboarding-reactivate"),
    path("subscription/export/", ExportView.as_view(), name="offboarding-export"),
]
