"""Settings > Connected apps (mounted under /t/<tenant_slug>/settings/apps/)."""

from django.urls import path

from . import views

app_name = "connectors"
urlpatterns = [
    path("", views.AppListView.as_view(), name="list"),
    path("new/", views.AppCreateView.as_view(), name="create"),
    path("<uuid:instance_id>/", views.AppDetailView.as_view(), name="detail"),
    path("<uuid:instance_id>/poll/", views.AppPollView.as_view(), name="poll"),
    path("<uuid:instance_id>/pause/", views.AppPauseView.as_view(), name="pause"),
    path("<uuid:instance_id>/resume/", views.AppResumeView.as_view(), name="resume"),
    path("<uuid:instance_id>/delete/", views.AppDeleteView.as_view(), name="delete"),
]
