"""Console URLs of Cloud Discovery (mounted under /t/<tenant_slug>/discovery/).

Three groups, each in a module of its own, all in the `discovery` namespace: the reports
(`urls_reports`), getting logs in (`urls_ingest`: snapshot reports, data sources, custom parsers,
uploads) and managing what was found (`urls_manage`: tags, block scripts, score metric, custom
apps, anonymisation).
"""

from django.urls import include, path

app_name = "discovery"
urlpatterns = [
    path("", include("apps.discovery.urls_reports")),
    path("", include("apps.discovery.urls_ingest")),
    path("", include("apps.discovery.urls_manage")),
]
