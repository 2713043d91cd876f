"""Console URLs of getting logs in (namespace `discovery`): snapshot reports, upload progress,
data sources and custom parsers."""

from django.urls import path

from . import views_ingest as views

urlpatterns = [
    path("snapshots/", views.SnapshotListView.as_view(), name="snapshots"),
    path("uploads/<uuid:upload_id>/", views.UploadDetailView.as_view(), name="upload"),
    path("sources/", views.SourceListView.as_view(), name="sources"),
    path("sources/<uuid:source_id>/", views.SourceDetailView.as_view(), name="source"),
    path(
        "sources/<uuid:source_id>/delete/",
        views.SourceDeleteView.as_view(),
        name="source-delete",
    ),
    path("parsers/", views.ParserListView.as_view(), name="parsers"),
    path("parsers/<uuid:parser_id>/", views.ParserDetailView.as_view(), name="parser"),
    path(
        "parsers/<uuid:parser_id>/delete/",
        views.ParserDeleteView.as_view(),
        name="parser-delete",
    ),
]
