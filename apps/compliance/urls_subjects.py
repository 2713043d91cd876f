"""Console URLs of the privacy pages: Data subject requests."""

from django.urls import path

from . import views_subjects as views

urlpatterns = [
    path("requests/", views.SubjectsView.as_view(), name="subjects"),
    path("requests/erase/", views.EraseView.as_view(), name="subject-erase"),
    path("requests/<uuid:request_id>/", views.DetailView.as_view(), name="subject-detail"),
    path(
        "requests/<uuid:request_id>/download/",
        views.DownloadView.as_view(),
        name="subject-download",
    ),
]
