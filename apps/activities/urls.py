"""Console URLs of the activities app (mounted under /t/<tenant_slug>/)."""

from django.urls import path

from apps.tenants.views.console import section

app_name = "activities"
urlpatterns = [
    path(
        "",
        section(
            "activities",
            "Activity log",
            "No activities yet",
            "Activities appear here once an app is connected "
            "or events are pushed to the ingestion API.",
        ),
        name="list",
    ),
]
