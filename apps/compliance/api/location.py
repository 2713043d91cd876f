"""Privacy API: data location and integrations (under /api/v1/privacy/).

    GET privacy/data-location/   where each kind of the tenant's data is stored, for how long
    GET privacy/integrations/    which integrations receive (or send) which data

Both are reads open to every member's token; they answer for the token's own tenant.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.integrations.registry import DATA_LABELS, Data, Direction, integrations_for, providers
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.models import ApiToken, Geo

from ..location import data_location
from ..models import RetentionSettings

WARNING = (
    "Other products do not enforce the roles of this service. Anyone who can use an "
    "integration, or read what it stored, sees the data it received, whatever their role "
    "here. Check what each integration receives, and who has access to it in that product, "
    "before connecting it."
)


class DataFlowSerializer(serializers.Serializer):
    data_kind = serializers.ChoiceField(choices=[kind.value for kind in Data])
    label = serializers.CharField()


class StoreSerializer(serializers.Serializer):
    alias = serializers.CharField(help_text="The database alias (GEO_DATABASES).")
    engine = serializers.CharField()
    host = serializers.CharField()
    database = serializers.CharField(help_text="The database name (never a user or password).")


class PlacementSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    plane = serializers.ChoiceField(
        choices=["tenant", "control"],
        help_text="tenant: the tenant's geo database; control: the default database.",
    )
    store = StoreSerializer(allow_null=True, help_text="Null when not in a database.")
    where = serializers.CharField()
    retention = serializers.CharField(help_text="How long it is kept, in words.")
    effective_days = serializers.IntegerField(allow_null=True)
    max_days = serializers.IntegerField(allow_null=True, help_text="The deployment maximum.")
    encrypted = serializers.BooleanField(help_text="Encrypted at rest with a key of ours.")
    protection = serializers.CharField()
    models = serializers.ListField(child=serializers.CharField())


class DataLocationSerializer(serializers.Serializer):
    geo = serializers.ChoiceField(choices=Geo.choices, help_text="Fixed at creation.")
    geo_name = serializers.CharField()
    alias = serializers.CharField()
    movable = serializers.BooleanField(help_text="Always false: a tenant cannot change geo.")
    store = StoreSerializer()
    tenant_data = PlacementSerializer(many=True)
    control_plane = PlacementSerializer(many=True)


class DetailSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()


class IntegrationSerializer(serializers.Serializer):
    provider = serializers.CharField()
    provider_label = serializers.CharField()
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    direction = serializers.ChoiceField(choices=[d.value for d in Direction])
    receives = DataFlowSerializer(many=True, help_text="Data it receives from us.")
    sends = DataFlowSerializer(many=True, help_text="Data we receive from it.")
    private_activities_sent = serializers.BooleanField(help_text="Always false.")
    status = serializers.CharField()
    status_label = serializers.CharField()
    configure_url = serializers.CharField(help_text="The console page that configures it.")
    details = DetailSerializer(many=True)


class IntegrationsSerializer(serializers.Serializer):
    warning = serializers.CharField()
    data_kinds = serializers.DictField(child=serializers.CharField(), help_text="Kind -> label.")
    integrations = IntegrationSerializer(many=True)


@extend_schema(tags=["privacy"])
class DataLocationViewSet(TenantScopedViewSet):
    """Where each kind of the tenant's data is stored, and for how long."""

    model = RetentionSettings

    @extend_schema(
        summary="Data location: geo, database and retention of each kind of data",
        responses={200: DataLocationSerializer},
    )
    def retrieve(self, request):
        location = data_location(tenant=request.tenant)
        body = {**location.__dict__, "movable": False}
        return Response(DataLocationSerializer(body).data)


def _flows(kinds: tuple[str, ...]) -> list[dict]:
    return [{"data_kind": kind, "label": DATA_LABELS.get(kind, kind)} for kind in kinds]


def _integration(item, labels: dict[str, str]) -> dict:
    return {
        **item.__dict__,
        "provider_label": labels[item.provider],
        "receives": _flows(item.receives),
        "sends": _flows(item.sends),
        "private_activities_sent": item.private_activities_sent,
        "details": [{"label": label, "value": value} for label, value in item.details],
    }


@extend_schema(tags=["privacy"])
class IntegrationsViewSet(TenantScopedViewSet):
    """Every integration of the tenant and exactly which data it receives or sends."""

    model = ApiToken

    @extend_schema(
        summary="Integrations and the data each receives",
        responses={200: IntegrationsSerializer},
    )
    def retrieve(self, request):
        labels = {p.name: p.label for p in providers()}
        items = integrations_for(tenant=request.tenant)
        body = {
            "warning": WARNING,
            "data_kinds": dict(DATA_LABELS),
            "integrations": [_integration(item, labels) for item in items],
        }
        return Response(IntegrationsSerializer(body).data)


ROUTES: list = []  # (prefix, viewset, basename)
PATHS: list = [
    path(
        "privacy/data-location/",
        DataLocationViewSet.as_view({"get": "retrieve"}),
        name="api-privacy-data-location",
    ),
    path(
        "privacy/integrations/",
        IntegrationsViewSet.as_view({"get": "retrieve"}),
        name="api-privacy-integrations",
    ),
]
