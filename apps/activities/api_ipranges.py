"""API of the tenant's IP ranges: `/api/v1/ip-ranges/` (list, create) and `/<id>/` (read,
change, delete). Reads for every token; writes need `Action.MANAGE_SETTINGS` (security admin
and global admin). Thin: the rules are in `iprange_services`, whose refusals come back as 400
with the field that is wrong (an overlap names the range it overlaps).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.permissions import Action

from . import iprange_services
from .models import IpCategory, IpRange


class IpRangeSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="get_category_display", read_only=True)

    class Meta:
        model = IpRange
        fields = [
            "id",
            "name",
            "cidrs",
            "category",
            "category_name",
            "tags",
            "isp_override",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class IpRangeInputSerializer(serializers.Serializer):
    """The only fields a client may set; the service validates and normalises them."""

    name = serializers.CharField(max_length=120)
    cidrs = serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=iprange_services.MAX_CIDRS,
        help_text="IPv4/IPv6 CIDRs, e.g. `192.0.2.0/24`, `2001:db8::/32` (a bare address is "
        "one host). May not overlap another range.",
    )
    category = serializers.ChoiceField(
        choices=IpCategory.choices,
        help_text="1 Corporate, 2 Administrative, 3 Risky, 4 VPN, 5 Cloud provider, 6 Other.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=iprange_services.MAX_TAG_LENGTH),
        required=False,
        max_length=iprange_services.MAX_TAGS,
    )
    isp_override = serializers.CharField(max_length=200, required=False, allow_blank=True)


def _service_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    )


@extend_schema(tags=["ip-ranges"])
@extend_schema_view(
    list=extend_schema(summary="List IP ranges"),
    retrieve=extend_schema(summary="One IP range"),
    create=extend_schema(
        summary="Create an IP range",
        request=IpRangeInputSerializer,
        responses={201: IpRangeSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an IP range (past activities keep their tags)",
        request=IpRangeInputSerializer(partial=True),
        responses={200: IpRangeSerializer},
    ),
    destroy=extend_schema(summary="Delete an IP range", responses={204: None}),
)
class IpRangeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Named CIDR ranges with a category and tags, used to enrich activities."""

    model = IpRange
    serializer_class = IpRangeSerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_SETTINGS
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return iprange_services.ranges_of(self.request.tenant)

    def create(self, request, *args, **kwargs):
        data = IpRangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            ip_range = iprange_services.create_range(
                tenant=request.tenant, actor=request.auth, request=request, **data.validated_data
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(IpRangeSerializer(ip_range).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        ip_range = self.get_object()
        data = IpRangeInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            ip_range = iprange_services.update_range(
                tenant=request.tenant,
                ip_range=ip_range,
                actor=request.auth,
                request=request,
                **data.validated_data,
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(IpRangeSerializer(ip_range).data)

    def destroy(self, request, *args, **kwargs):
        ip_range = self.get_object()
        iprange_services.delete_range(
            tenant=request.tenant, ip_range=ip_range, actor=request.auth, request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
