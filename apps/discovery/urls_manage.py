"""Console URLs of discovery management (namespace `discovery`), all under manage/ so they never
meet the reports' app pages (apps/<app>/)."""

from django.urls import path

from . import views_anonymization
from . import views_manage as views

urlpatterns = [
    path("manage/tags/", views.TagsView.as_view(), name="tags"),
    path("manage/tags/<uuid:tag_id>/delete/", views.TagDeleteView.as_view(), name="tag_delete"),
    path("manage/tags/<uuid:tag_id>/rename/", views.TagRenameView.as_view(), name="tag_rename"),
    path("manage/bulk-tag/", views.BulkTagView.as_view(), name="bulk_tag"),
    path("manage/apps/<str:app>/tag/", views.AppTagView.as_view(), name="app_tag"),
    path("manage/apps/<str:app>/override/", views.AppOverrideView.as_view(), name="app_override"),
    path("manage/block-script/", views.BlockScriptView.as_view(), name="block_script"),
    path(
        "manage/block-script/download/",
        views.BlockScriptDownloadView.as_view(),
        name="block_script_download",
    ),
    path("manage/score-metric/", views.ScoreMetricView.as_view(), name="score_metric"),
    path("manage/custom-apps/", views.CustomAppsView.as_view(), name="custom_apps"),
    path(
        "manage/custom-apps/<uuid:custom_app_id>/",
        views.CustomAppEditView.as_view(),
        name="custom_app_edit",
    ),
    path(
        "manage/custom-apps/<uuid:custom_app_id>/delete/",
        views.CustomAppDeleteView.as_view(),
        name="custom_app_delete",
    ),
    path(
        "manage/anonymization/",
        views_anonymization.AnonymizationView.as_view(),
        name="anonymization",
    ),
    path(
        "manage/anonymization/resolve/",
        views_anonymization.ResolveView.as_view(),
        name="anonymization_resolve",
    ),
]
