"""Root URLs: sign-in, the tenant console under /t/<slug>/, the API under /api/v1/."""

from django.urls import include, path

from apps.tenants.views import console, errors

tenant_console = [
    path("", include("apps.tenants.urls")),
    path("settings/ip-ranges/", include("apps.activities.urls_ipranges")),
    path("settings/apps/", include("apps.connectors.urls")),
    path("settings/privacy/", include("apps.compliance.urls")),
    path("settings/dlp/", include("apps.dlp.urls_settings")),
    path("settings/icap/", include("apps.dlp.urls_icap")),
    path("settings/integrations/", include("apps.integrations.urls")),
    path("activities/", include("apps.activities.urls")),
    path("users/", include("apps.accounts.urls")),
    path("alerts/", include("apps.alerts.urls")),
    path("policies/files/", include("apps.dlp.urls_policies")),
    path("policies/", include("apps.alerts.urls_policies")),
    path("governance/", include("apps.governance.urls")),
    path("discovery/", include("apps.discovery.urls")),
    path("files/", include("apps.dlp.urls")),
]

urlpatterns = [
    path("", console.home, name="home"),
    path("healthz", errors.healthz, name="healthz"),
    path("accounts/", include("apps.tenants.urls_auth")),
    path("t/<slug:tenant_slug>/", include(tenant_console)),
    path("api/v1/", include("apps.tenants.api.urls")),
]

handler400 = "apps.tenants.views.errors.bad_request"
handler403 = "apps.tenants.views.errors.permission_denied"
handler404 = "apps.tenants.views.errors.page_not_found"
handler500 = "apps.tenants.views.errors.server_error"
