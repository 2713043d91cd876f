"""API v1 routes (mounted at /api/v1/).

Viewsets register on `router`; its routes use `<uuid:id>` (the base viewset's converter), so a
malformed id is a 404 before any view runs. Later apps add their viewsets here.
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.accounts.api import AccountViewSet, PersonViewSet
from apps.activities.api import ActivityViewSet
from apps.activities.api_ingest import IngestViewSet
from apps.activities.api_ipranges import IpRangeViewSet
from apps.alerts.api import AlertViewSet
from apps.alerts.policy_api import PolicyViewSet
from apps.compliance import api as privacy_api
from apps.connectors.api import AppInstanceViewSet
from apps.discovery import api as discovery_api
from apps.dlp import api as dlp_api
from apps.governance.api import GovernanceViewSet
from apps.integrations import api as integrations_api
from apps.integrations.api_feeds import AlertFeedViewSet

from . import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
from .docs import SchemaView, docs
from .views import AuditEventViewSet, MemberViewSet, TenantViewSet

router = SimpleRouter(use_regex_path=False)
router.register("members", MemberViewSet, basename="api-members")
router.register("audit", AuditEventViewSet, basename="api-audit")
# activities/<uuid:id>/ only takes UUIDs, so fixed paths such as activities/ingest/ and
# activities/export/ never reach the detail view whatever their order.
router.register("activities", ActivityViewSet, basename="api-activities")
router.register("users", PersonViewSet, basename="api-users")
router.register("accounts", AccountViewSet, basename="api-accounts")
router.register("ip-ranges", IpRangeViewSet, basename="api-ip-ranges")
router.register("apps", AppInstanceViewSet, basename="api-apps")
router.register("governance", GovernanceViewSet, basename="api-governance")
# alerts/<uuid:id>/ only takes UUIDs: alerts/bulk/ and alerts/export/ never reach the detail.
router.register("alerts", AlertViewSet, basename="api-alerts")
router.register("alerts/feed", AlertFeedViewSet, basename="api-alerts-feed")
router.register("policies", PolicyViewSet, basename="api-policies")
# Cloud Discovery: every route under discovery/ (apps/discovery/api/).
for _prefix, _viewset, _basename in discovery_api.ROUTES:
    router.register(f"discovery/{_prefix}", _viewset, basename=_basename)

# Privacy and data lifecycle: every route under privacy/ (apps/compliance/api/).
for _prefix, _viewset, _basename in privacy_api.ROUTES:
    router.register(f"privacy/{_prefix}", _viewset, basename=_basename)

# Content inspection: files, file policies, sensitive types, ICAP (apps/dlp/api/).
for _prefix, _viewset, _basename in dlp_api.ROUTES:
    router.register(_prefix, _viewset, basename=_basename)

# Outbound integrations: SIEM agents, webhooks, dead letters (apps/integrations/api.py).
for _prefix, _viewset, _basename in integrations_api.ROUTES:
    router.register(_prefix, _viewset, basename=_basename)

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", docs, name="api-docs"),
    path("tenant/", TenantViewSet.as_view({"get": "retrieve"}), name="api-tenant"),
    path(
        "activities/ingest/",
        IngestViewSet.as_view({"post": "create"}),
        name="api-activities-ingest",
    ),
    *discovery_api.PATHS,
    *privacy_api.PATHS,
    *dlp_api.PATHS,
    *router.urls,
]
