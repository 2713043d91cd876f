"""API endpoints of the tenants app: the token's tenant, its members, its audit log.

Thin: read through the scoped queryset, write through `apps.tenants.services`, translate
service refusals into the error format.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from .. import services
from ..filtersets import AuditEventFilterSet
from ..models import AuditEvent, Membership, Tenant
from ..permissions import Action
from ..selectors import memberships
from .base import TenantScopedViewSet
from .errors import Conflict
from .serializers import (
    AuditEventSerializer,
    MemberCreateSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    TenantSerializer,
)


@extend_schema(tags=["tenant"])
class TenantViewSet(TenantScopedViewSet):
    """The tenant the token belongs to. Its geo is fixed at creation and read-only here."""

    model = Tenant
    serializer_class = TenantSerializer
    read_action = Action.VIEW
    pagination_class = None

    def scoped_queryset(self):
        return Tenant.objects.filter(pk=self.request.tenant.pk)

    @extend_schema(summary="The token's tenant")
    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(request.tenant).data)


@extend_schema(tags=["members"])
@extend_schema_view(
    list=extend_schema(summary="List members and their roles"),
    retrieve=extend_schema(summary="One member"),
    create=extend_schema(
        summary="Add a portal account as a member",
        request=MemberCreateSerializer,
        responses={201: MemberSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a member's role",
        request=MemberRoleSerializer,
        responses={200: MemberSerializer},
    ),
    destroy=extend_schema(summary="Remove a member", responses={204: None}),
)
class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Members of the token's tenant. Writes need the right to manage members (global admin)."""

    model = Membership
    serializer_class = MemberSerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_MEMBERS
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return memberships(self.request.tenant).order_by("user__username")

    def create(self, request, *args, **kwargs):
        data = MemberCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = data.validated_data["user"]
        if self.get_queryset().filter(user=user).exists():
            raise Conflict("This account is already a member; change its role instead.")
        membership = self._call(
            services.set_role,
            user=user,
            role=data.validated_data["role"],
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = self._call(
            services.set_role, user=membership.user, role=data.validated_data["role"]
        )
        return Response(MemberSerializer(membership).data)

    def destroy(self, request, *args, **kwargs):
        membership = self.get_object()
        self._call(services.remove_member, user=membership.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _call(self, service, **kwargs):
        try:
            # The token is the actor: the audit record names the person and their token.
            return service(
                tenant=self.request.tenant, actor=self.request.auth, request=self.request, **kwargs
            )
        except services.LastGlobalAdminError as exc:
            raise Conflict(str(exc), code="last_global_admin") from exc


@extend_schema(tags=["audit"])
@extend_schema_view(
    list=extend_schema(summary="The audit log, newest first"),
    retrieve=extend_schema(summary="One audit record"),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The tenant's hash-chained audit log (read-only; global admins)."""

    model = AuditEvent
    serializer_class = AuditEventSerializer
    read_action = Action.VIEW_AUDIT
    filterset_class = AuditEventFilterSet

    def scoped_queryset(self):
        return AuditEvent.objects.order_by("-seq")
