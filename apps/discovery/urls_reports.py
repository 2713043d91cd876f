"""Console URLs of the discovery reports (namespace `discovery`, under /t/<slug>/discovery/).

Fixed paths under apps/ come before `apps/<str:app>/`; an app key is checked against the
catalog and the tenant's custom apps (an unknown one is 404).
"""

from django.urls import path

from . import views_reports as views

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("apps/", views.AppsView.as_view(), name="apps"),
    path("apps/export/", views.AppsExportView.as_view(), name="apps-export"),
    path("apps/<str:app>/", views.AppDetailView.as_view(), name="app"),
    path("unrecognised/", views.UnrecognisedView.as_view(), name="unrecognised"),
    path("users/", views.UsersView.as_view(), name="users"),
    path("users/export/", views.UsersExportView.as_view(), name="users-export"),
    path("ips/", views.IpsView.as_view(), name="ips"),
    path("ips/export/", views.IpsExportView.as_view(), name="ips-export"),
    path("executive/", views.ExecutiveView.as_view(), name="executive"),
]
