"""Portal security settings and the audit log (mounted under /t/<tenant_slug>/)."""

from django.urls import path

from .views import security

urlpatterns = [
    path(
        "settings/security/",
        security.PortalSecurityView.as_view(),
        name="portal-security",
    ),
    path("audit/", security.AuditLogView.as_view(), name="audit"),
    path("audit/export.csv", security.AuditExportView.as_view(), name="audit-export"),
]
