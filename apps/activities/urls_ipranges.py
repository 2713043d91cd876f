"""Settings > IP ranges (mounted under /t/<tenant_slug>/settings/ip-ranges/)."""

from django.urls import path

from .iprange_views import IpRangeDeleteView, IpRangeEditView, IpRangeListView

app_name = "ipranges"
urlpatterns = [
    path("", IpRangeListView.as_view(), name="list"),
    path("<uuid:range_id>/", IpRangeEditView.as_view(), name="edit"),
    path("<uuid:range_id>/delete/", IpRangeDeleteView.as_view(), name="delete"),
]
