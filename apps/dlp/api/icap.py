"""DLP API: the tenant's ICAP service (under /api/v1/icap/).

- icap/          GET the settings (on/off, mode, block message, secret prefix and when it was
                 made, the service addresses); PUT them (MANAGE_SETTINGS; audited)
- icap/secret/   POST: generate a new secret, returned once in the answer (MANAGE_SETTINGS)
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.fields import StrictBooleanField, StrictCharField
from apps.tenants.permissions import Action

from ..icap import services as icap
from ..models import IcapMode, IcapSettings
from ..views_icap import connection


class IcapChangeSerializer(serializers.Serializer):
    enabled = StrictBooleanField(help_text="Off: every request to the service is refused.")
    mode = serializers.ChoiceField(choices=IcapMode.choices)
    block_message = StrictCharField(
        max_length=500, allow_blank=True, help_text="Shown on the block page (plain text)."
    )

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class IcapSettingsSerializer(IcapChangeSerializer):
    secret_prefix = serializers.CharField(read_only=True, help_text="Tells secrets apart.")
    secret_rotated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reqmod_uri = serializers.CharField(read_only=True)
    respmod_uri = serializers.CharField(read_only=True)
    secret_header = serializers.CharField(read_only=True)


class IcapSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="Shown only in this answer; only a hash is kept.")
    secret_prefix = serializers.CharField()
    secret_rotated_at = serializers.DateTimeField()


def _answer(request, row: IcapSettings) -> dict:
    where = connection(request, request.tenant)
    return {
        "enabled": row.enabled,
        "mode": row.mode,
        "block_message": row.block_message,
        "secret_prefix": row.secret_prefix,
        "secret_rotated_at": row.secret_rotated_at,
        "reqmod_uri": where["reqmod"],
        "respmod_uri": where["respmod"],
        "secret_header": where["header"],
    }


@extend_schema(tags=["dlp"])
class IcapSettingsViewSet(TenantScopedViewSet):
    """The tenant's ICAP service settings (the secret itself is never readable)."""

    model = IcapSettings
    write_action = Action.MANAGE_SETTINGS

    @extend_schema(summary="ICAP service settings", responses={200: IcapSettingsSerializer})
    def retrieve(self, request):
        return Response(_answer(request, icap.settings_of_current()))

    @extend_schema(
        summary="Change the ICAP service settings; audited",
        request=IcapChangeSerializer,
        responses={200: IcapSettingsSerializer},
    )
    def update(self, request):
        body = IcapChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = icap.update_settings(
            tenant=request.tenant, actor=request.auth, request=request, **body.validated_data
        )
        return Response(_answer(request, row))

    @extend_schema(
        summary="Generate a new ICAP secret (returned once); audited without the secret",
        request=None,
        responses={201: IcapSecretSerializer},
    )
    def create(self, request):
        new = icap.rotate_secret(tenant=request.tenant, actor=request.auth, request=request)
        data = {
            "secret": new.secret,
            "secret_prefix": new.settings.secret_prefix,
            "secret_rotated_at": new.settings.secret_rotated_at,
        }
        return Response(data, status=status.HTTP_201_CREATED)


ROUTES: list = []  # (prefix under /api/v1/, viewset, basename)
PATHS: list = [
    path(
        "icap/",
        IcapSettingsViewSet.as_view({"get": "retrieve", "put": "update"}),
        name="api-icap-settings",
    ),
    path(
        "icap/secret/",
        IcapSettingsViewSet.as_view({"post": "create"}),
        name="api-icap-secret",
    ),
]
