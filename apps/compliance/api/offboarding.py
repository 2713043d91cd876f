"""Privacy API: subscription and offboarding (under /api/v1/privacy/offboarding/).

Every member reads the status; cancelling, reactivating and the whole-tenant export need the
tenant-lifecycle right (global admins). The export streams one ZIP (see `tenant_export`).
"""

from __future__ import annotations

from django.conf import settings
from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.activities.api import JSONAnswers
from apps.tenants import audit
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.errors import Conflict
from apps.tenants.api.fields import StrictCharField
from apps.tenants.models import Tenant
from apps.tenants.permissions import Action

from .. import offboarding, tenant_export


class OffboardingStatusSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="`active`, or `cancelled` during the grace period.")
    cancelled_at = serializers.DateTimeField(allow_null=True)
    delete_after = serializers.DateTimeField(
        allow_null=True,
        help_text="When every row of the tenant is deleted and its keys destroyed.",
    )
    grace_days = serializers.IntegerField(help_text="Days between cancellation and deletion.")


class CancelSerializer(serializers.Serializer):
    confirm = StrictCharField(max_length=60, help_text="The tenant's slug, to confirm.")


def _status(tenant: Tenant) -> dict:
    return OffboardingStatusSerializer(
        {
            "status": tenant.status,
            "cancelled_at": tenant.cancelled_at,
            "delete_after": tenant.delete_after,
            "grace_days": settings.TENANT_DELETION_GRACE_DAYS,
        }
    ).data


@extend_schema(tags=["privacy"])
class OffboardingViewSet(TenantScopedViewSet):
    """The subscription's status; cancel it (data deleted after the grace period) or undo."""

    model = Tenant
    serializer_class = OffboardingStatusSerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_LIFECYCLE
    pagination_class = None

    def scoped_queryset(self):
        return Tenant.objects.filter(pk=self.request.tenant.pk)

    @extend_schema(summary="Subscription status and deletion date")
    def retrieve(self, request, *args, **kwargs):
        return Response(_status(request.tenant))

    @extend_schema(
        summary="Cancel the subscription (type the tenant's slug to confirm)",
        request=CancelSerializer,
        responses={200: OffboardingStatusSerializer},
    )
    def cancel(self, request, *args, **kwargs):
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["confirm"].strip() != request.tenant.slug:
            raise serializers.ValidationError({"confirm": ["Type the tenant's slug exactly."]})
        try:
            tenant = offboarding.cancel(
                tenant=request.tenant,
                actor=request.auth,
                confirm_slug=body.validated_data["confirm"],
                request=request,
            )
        except offboarding.OffboardingError as exc:
            raise Conflict(str(exc)) from exc
        return Response(_status(tenant))

    @extend_schema(
        summary="Reactivate a cancelled subscription during the grace period",
        request=None,
        responses={200: OffboardingStatusSerializer},
    )
    def reactivate(self, request, *args, **kwargs):
        try:
            tenant = offboarding.reactivate(
                tenant=request.tenant, actor=request.auth, request=request
            )
        except offboarding.OffboardingError as exc:
            raise Conflict(str(exc)) from exc
        return Response(_status(tenant))


@extend_schema(tags=["privacy"])
class TenantExportViewSet(TenantScopedViewSet):
    """The whole tenant as one streamed ZIP (JSON lines per model and a manifest)."""

    model = Tenant
    read_action = Action.MANAGE_LIFECYCLE
    content_negotiation_class = JSONAnswers
    pagination_class = None

    def scoped_queryset(self):
        return Tenant.objects.filter(pk=self.request.tenant.pk)

    @extend_schema(
        summary="Export the tenant's whole data set (streamed ZIP; global admins)",
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def export(self, request, *args, **kwargs):
        return export_response(request.tenant, actor=request.auth, request=request)


def export_response(tenant: Tenant, *, actor, request) -> StreamingHttpResponse:
    """Audit the export, then stream it (shared by the console page and the API)."""
    audit.record(tenant, "offboarding.export", actor=actor, request=request, target=tenant)
    response = StreamingHttpResponse(
        tenant_export.stream_tenant_archive(tenant), content_type="application/zip"
    )
    name = tenant_export.archive_filename(tenant)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


ROUTES: list = []  # (prefix, viewset, basename)
PATHS: list = [
    path(
        "privacy/offboarding/",
        OffboardingViewSet.as_view({"get": "retrieve"}),
        name="api-offboarding",
    ),
    path(
        "privacy/offboarding/cancel/",
        OffboardingViewSet.as_view({"post": "cancel"}),
        name="api-offboarding-cancel",
    ),
    path(
        "privacy/offboarding/reactivate/",
        OffboardingViewSet.as_view({"post": "reactivate"}),
        name="api-offboarding-reactivate",
    ),
    path(
        "privacy/offboarding/export/",
        TenantExportViewSet.as_view({"get": "export"}),
        name="api-offboarding-export",
    ),
]
