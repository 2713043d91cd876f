"""Console URLs of the privacy pages: Data location and transparency."""

from django.urls import path

from .views_location import LocationView

urlpatterns = [
    path("data-location/", LocationView.as_view(), name="location"),
]
