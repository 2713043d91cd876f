"""API v1 routes (mounted at /api/v1/).

Viewsets register on `router`; its routes use `<uuid:id>` (the base viewset's converter), so a
malformed id is a 404 before any view runs. Later apps add their viewsets here.
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
from .docs import SchemaView, docs
from .views import AuditEventViewSet, MemberViewSet, TenantViewSet

router = SimpleRouter(use_regex_path=False)
router.register("members", MemberViewSet, basename="api-members")
router.register("audit", AuditEventViewSet, basename="api-audit")

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", docs, name="api-docs"),
    path("tenant/", TenantViewSet.as_view({"get": "retrieve"}), name="api-tenant"),
    *router.urls,
]
