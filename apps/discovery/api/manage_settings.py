"""Discovery API: the block script, the discovery settings and resolving pseudonyms (routed
by `api/manage.py`, whose docstring lists every endpoint of the group)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from apps.activities.api import JSONAnswers
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from apps.tenants.permissions import Action

from .. import blockscripts
from .. import services_manage as manage
from ..catalog.attributes import DEFAULT_LEVEL, GROUPS, SCORED
from ..models import AppTag, DiscoverySettings
from ..services import DiscoveryRefused, resolve, settings_for_tenant


def _refused(exc: DiscoveryRefused) -> exceptions.ValidationError:
    return exceptions.ValidationError({exc.field: [str(exc)]})


# --- block script ------------------------------------------------------------------------------


@extend_schema(tags=["discovery"])
class BlockScriptViewSet(TenantScopedViewSet):
    """The domains of the unsanctioned apps, as a script for one appliance."""

    model = AppTag
    content_negotiation_class = JSONAnswers  # errors in JSON whatever `Accept` says

    @extend_schema(
        summary="Block script of the unsanctioned apps for one appliance",
        parameters=[
            OpenApiParameter(
                "appliance",
                OpenApiTypes.STR,
                enum=list(blockscripts.APPLIANCES),
                required=True,
                description="Which appliance's syntax.",
            )
        ],
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    def script(self, request):
        try:
            name, text, _ = blockscripts.generate(
                appliance=request.query_params.get("appliance", ""),
                actor=request.auth,
                request=request,
            )
        except DiscoveryRefused as exc:
            raise _refused(exc) from exc
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# --- settings ----------------------------------------------------------------------------------


def _level() -> serializers.IntegerField:
    return StrictIntegerField(min_value=0, max_value=4)


class SettingsSerializer(serializers.Serializer):
    anonymize_by_default = StrictBooleanField(
        help_text="Anonymise usernames in new snapshot reports and data sources."
    )
    na_negative = StrictBooleanField(help_text="Count N/A attributes as 0.")
    group_weights = serializers.DictField(
        child=_level(),
        help_text="Importance per group (general, security, compliance, legal): 0 ignored, "
        "1 low, 2 medium (default), 3 high, 4 very high.",
    )
    attribute_weights = serializers.DictField(
        child=_level(), help_text="Importance per scored attribute, same levels."
    )


def _settings_data(row: DiscoverySettings) -> dict:
    groups = row.group_weights or {}
    attributes = row.attribute_weights or {}
    return {
        "anonymize_by_default": row.anonymize_by_default,
        "na_negative": row.na_negative,
        "group_weights": {key: groups.get(key, DEFAULT_LEVEL) for key in GROUPS},
        "attribute_weights": {a.key: attributes.get(a.key, DEFAULT_LEVEL) for a in SCORED},
    }


@extend_schema(tags=["discovery"])
class SettingsViewSet(TenantScopedViewSet):
    """The score metric and the anonymisation default."""

    model = DiscoverySettings
    write_action = Action.MANAGE_DISCOVERY

    @extend_schema(summary="Discovery settings", responses={200: SettingsSerializer})
    def retrieve(self, request):
        return Response(_settings_data(settings_for_tenant()))

    @extend_schema(
        summary="Change discovery settings (weight maps merge into the current ones)",
        request=SettingsSerializer(partial=True),
        responses={200: SettingsSerializer},
    )
    def partial_update(self, request):
        body = SettingsSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        current = _settings_data(settings_for_tenant())
        try:
            if {"group_weights", "attribute_weights", "na_negative"} & set(data):
                manage.update_score_metric(
                    actor=request.auth,
                    request=request,
                    group_weights={**current["group_weights"], **data["group_weights"]}
                    if "group_weights" in data
                    else None,
                    attribute_weights={
                        **current["attribute_weights"],
                        **data["attribute_weights"],
                    }
                    if "attribute_weights" in data
                    else None,
                    na_negative=data.get("na_negative"),
                )
            if "anonymize_by_default" in data:
                manage.set_anonymize_default(
                    enabled=data["anonymize_by_default"], actor=request.auth, request=request
                )
        except DiscoveryRefused as exc:
            raise _refused(exc) from exc
        return Response(_settings_data(settings_for_tenant()))


# --- resolving pseudonyms ----------------------------------------------------------------------


class ResolveSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(
        choices=["from", "to"],
        help_text="`from`: pseudonym to username; `to`: username to pseudonym.",
    )
    value = StrictCharField(max_length=400, help_text="The pseudonym or the username.")
    justification = StrictCharField(
        max_length=2000, help_text="Why (at least 10 characters); kept in the audit log."
    )


class ResolveAnswerSerializer(serializers.Serializer):
    direction = StrictCharField()
    value = StrictCharField(help_text="The username (from) or the pseudonym (to).")


@extend_schema(tags=["discovery"])
class ResolveViewSet(TenantScopedViewSet):
    """Resolve a pseudonym, or find a user's pseudonym (DEANONYMIZE; audited)."""

    model = DiscoverySettings
    write_action = Action.DEANONYMIZE

    @extend_schema(
        summary="Resolve a pseudonym or find one (needs a written justification)",
        request=ResolveSerializer,
        responses={200: ResolveAnswerSerializer},
    )
    def create(self, request):
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            answer = resolve(**data, actor=request.auth, request=request)
        except DiscoveryRefused as exc:
            raise exceptions.ValidationError({exc.field: [str(exc)]}) from exc
        return Response({"direction": data["direction"], "value": answer})
