"""Privacy API: scoped deployment rules and activity-privacy groups (under /api/v1/privacy/).

- `privacy/scope-rules/` (list, create) and `privacy/scope-rules/<id>/` (read, change, delete);
- `privacy/activity-privacy/` (GET the privacy groups, PUT to replace them).

Reads for every token; writes need `Action.MANAGE_SETTINGS` (security admin and global admin).
Groups are `UserGroup` ids of the tenant or `builtin:external` / `builtin:application`; apps are
`AppInstance` ids, optionally `<id>:<sub-app>` for a Microsoft 365 workload (e.g. `:PowerBI`).
An unknown id (another tenant's included) is a 400 naming it. Semantics: `apps.compliance.scope`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.fields import StrictCharField
from apps.tenants.permissions import Action

from .. import scope_services
from ..models import PrivacySettings, ScopeRule, ScopeRuleKind

_GROUPS_HELP = (
    "UserGroup ids of this tenant, or `builtin:external` (people marked external) and "
    "`builtin:application` (activities with no person behind them)."
)
_APPS_HELP = (
    "AppInstance ids, or `<id>:<sub-app>` for a Microsoft 365 workload (e.g. `<id>:PowerBI`). "
    "Empty: every connected app."
)


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(include|exclude)$",
        "description": "`include`: monitor only these groups in these apps; `exclude`: never "
        "(exclude wins).",
    }
)
class KindField(serializers.ChoiceField):
    """`include` or `exclude`. Documented as a pattern rather than an enum: other `kind` fields
    of the API have their own enums, and an unnamed second one would be an ambiguous name."""

    def __init__(self, **kwargs):
        super().__init__(choices=ScopeRuleKind.choices, **kwargs)


class ScopeRuleSerializer(serializers.ModelSerializer):
    kind = KindField(read_only=True)

    class Meta:
        model = ScopeRule
        fields = ["id", "name", "kind", "groups", "apps", "created_at", "updated_at"]
        read_only_fields = fields


class ScopeRuleInputSerializer(serializers.Serializer):
    """The fields a client may set; the service checks the groups and apps exist here."""

    name = StrictCharField(max_length=scope_services.MAX_NAME)
    kind = KindField()
    groups = serializers.ListField(
        child=StrictCharField(max_length=80),
        min_length=1,
        max_length=scope_services.MAX_GROUPS,
        help_text=_GROUPS_HELP,
    )
    apps = serializers.ListField(
        child=StrictCharField(max_length=120),
        required=False,
        max_length=scope_services.MAX_APPS,
        help_text=_APPS_HELP,
    )


class PrivacyGroupsSerializer(serializers.Serializer):
    private_groups = serializers.ListField(
        child=StrictCharField(max_length=80),
        max_length=scope_services.MAX_GROUPS,
        help_text="Activities of members of these groups are stored private from now on "
        "(earlier ones unchanged). " + _GROUPS_HELP,
    )


def _service_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    )


@extend_schema(tags=["privacy"])
@extend_schema_view(
    list=extend_schema(summary="List scoped deployment rules"),
    retrieve=extend_schema(summary="One scoped deployment rule"),
    create=extend_schema(
        summary="Add an include or exclude rule (applies to activities ingested from now on)",
        request=ScopeRuleInputSerializer,
        responses={201: ScopeRuleSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a scoped deployment rule",
        request=ScopeRuleInputSerializer(partial=True),
        responses={200: ScopeRuleSerializer},
    ),
    destroy=extend_schema(summary="Delete a scoped deployment rule", responses={204: None}),
)
class ScopeRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Include and exclude rules: whose activities are stored and evaluated, per app."""

    model = ScopeRule
    serializer_class = ScopeRuleSerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_SETTINGS
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return ScopeRule.objects.all()

    def create(self, request, *args, **kwargs):
        data = ScopeRuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            rule = scope_services.create_rule(
                tenant=request.tenant, actor=request.auth, request=request, **data.validated_data
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(ScopeRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        rule = self.get_object()
        data = ScopeRuleInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            rule = scope_services.update_rule(
                tenant=request.tenant,
                rule=rule,
                actor=request.auth,
                request=request,
                **data.validated_data,
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(ScopeRuleSerializer(rule).data)

    def destroy(self, request, *args, **kwargs):
        rule = self.get_object()
        scope_services.delete_rule(
            tenant=request.tenant, rule=rule, actor=request.auth, request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["privacy"])
class PrivacyGroupsViewSet(TenantScopedViewSet):
    """The activity-privacy groups of the tenant (spec 1.6)."""

    model = PrivacySettings
    write_action = Action.MANAGE_SETTINGS
    http_method_names = ["get", "put", "head", "options"]

    @extend_schema(summary="Activity-privacy groups", responses={200: PrivacyGroupsSerializer})
    def retrieve(self, request):
        groups = PrivacySettings.objects.values_list("private_groups", flat=True).first()
        return Response({"private_groups": groups or []})

    @extend_schema(
        summary="Replace the activity-privacy groups (from now on; stored activities unchanged)",
        request=PrivacyGroupsSerializer,
        responses={200: PrivacyGroupsSerializer},
    )
    def update(self, request):
        data = PrivacyGroupsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            settings = scope_services.set_private_groups(
                tenant=request.tenant,
                actor=request.auth,
                request=request,
                groups=data.validated_data["private_groups"],
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response({"private_groups": settings.private_groups})


ROUTES: list = [("scope-rules", ScopeRuleViewSet, "api-privacy-scope-rules")]
PATHS: list = [
    path(
        "privacy/activity-privacy/",
        PrivacyGroupsViewSet.as_view({"get": "retrieve", "put": "update"}),
        name="api-privacy-activity-privacy",
    ),
]
