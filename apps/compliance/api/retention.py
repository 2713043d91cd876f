"""Privacy API: retention (under /api/v1/privacy/).

- retention/        GET the periods (own, maximum, applied) and each kind's oldest record;
                    PATCH the tenant's own periods (MANAGE_LIFECYCLE; null: back to the maximum).
                    An own period not shorter than the maximum (saved before the maximum was
                    lowered) reads as null, like the console's form: what is read can be sent back.
- retention/runs/   GET the purge records, newest first (read-only)
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.fields import StrictIntegerField
from apps.tenants.permissions import Action

from .. import retention_selectors as selectors
from ..models import PurgeRun, RetentionSettings
from ..retention_settings import (
    SETTINGS_FIELDS,
    RetentionRefused,
    own_period,
    update_settings,
)


def _period_field() -> serializers.IntegerField:
    return StrictIntegerField(
        min_value=1,
        allow_null=True,
        required=False,
        help_text="Days, 1 to the deployment maximum (see `periods`); null: the maximum.",
    )


class RetentionChangeSerializer(serializers.Serializer):
    activities_days = _period_field()
    discovery_days = _period_field()
    alerts_days = _period_field()
    governance_days = _period_field()
    files_days = _period_field()
    deleted_accounts_days = _period_field()

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(SETTINGS_FIELDS)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class PeriodSerializer(serializers.Serializer):
    kind = serializers.CharField(source="key")
    label = serializers.CharField()
    field = serializers.CharField(help_text="The settings field that shortens this period.")
    days = serializers.IntegerField(help_text="The period that applies.")
    own = serializers.IntegerField(
        allow_null=True, help_text="The tenant's own period, if shorter than the maximum."
    )
    maximum = serializers.IntegerField(help_text="The deployment maximum.")
    oldest = serializers.DateTimeField(
        allow_null=True, help_text="The tenant's oldest record of this kind."
    )


class RetentionSerializer(RetentionChangeSerializer):
    periods = PeriodSerializer(many=True, read_only=True)


def _answer(row: RetentionSettings | None) -> dict:
    data = {name: own_period(row, name) for name in SETTINGS_FIELDS}
    data["periods"] = PeriodSerializer(selectors.periods(row), many=True).data
    return data


@extend_schema(tags=["privacy"])
class RetentionViewSet(TenantScopedViewSet):
    """The tenant's retention periods (shorter than or equal to the deployment maximum)."""

    model = RetentionSettings
    write_action = Action.MANAGE_LIFECYCLE

    @extend_schema(summary="Retention periods", responses={200: RetentionSerializer})
    def retrieve(self, request):
        return Response(_answer(selectors.settings_of_current()))

    @extend_schema(
        summary="Shorten (or reset to the maximum) retention periods; audited",
        request=RetentionChangeSerializer,
        responses={200: RetentionSerializer},
    )
    def partial_update(self, request):
        body = RetentionChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            row = update_settings(
                tenant=request.tenant,
                values=dict(body.validated_data),
                actor=request.auth,
                request=request,
            )
        except RetentionRefused as exc:
            raise exceptions.ValidationError({exc.field: [str(exc)]}) from exc
        return Response(_answer(row))


class PurgeRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = PurgeRun
        fields = [
            "id",
            "kind",
            "method",
            "status",
            "cutoff",
            "removed",
            "details",
            "error",
            "started_at",
            "finished_at",
        ]


@extend_schema(tags=["privacy"])
class PurgeRunViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    """What each retention purge removed from the tenant's data, newest first."""

    model = PurgeRun
    serializer_class = PurgeRunSerializer
    http_method_names = ["get", "head", "options"]

    def scoped_queryset(self):
        return PurgeRun.objects.order_by("-started_at")


ROUTES: list = [("retention/runs", PurgeRunViewSet, "api-privacy-retention-runs")]
PATHS: list = [
    path(
        "privacy/retention/",
        RetentionViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="api-privacy-retention",
    ),
]
