"""API of policies: /api/v1/policies/ (activity policies and built-in detections) and
/api/v1/policies/templates/ (the template catalogue).

Reads for every token; writes need `Action.MANAGE_POLICIES`. Thin: the rules are in
`policy_services`, whose refusals come back as 400 naming the field and the reason. Built-in
detections are listed as `kind=anomaly` rows: only their settings (enabled, severity, scope,
governance, tuning) change, with PATCH; they cannot be created or deleted.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.governance.models import GovernanceKind
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.errors import Conflict
from apps.tenants.permissions import Action

from . import policy_selectors as selectors
from . import policy_services as services
from . import policy_templates
from .models import Category, MatchMode, Policy, PolicyKind, Severity


class OptionSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField(help_text="int, choice, bool or words.")
    default = serializers.JSONField()
    minimum = serializers.IntegerField(allow_null=True)
    maximum = serializers.IntegerField(allow_null=True)
    choices = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    help = serializers.CharField()


class PolicySerializer(serializers.ModelSerializer):
    severity_name = serializers.CharField(source="get_severity_display", read_only=True)
    alerts_last_7_days = serializers.IntegerField(source="alerts_7d", read_only=True, default=0)
    options = serializers.SerializerMethodField(
        help_text="Built-in detections: the options `tuning` may set (empty for activity policies)."
    )

    class Meta:
        model = Policy
        fields = [
            "id",
            "kind",
            "name",
            "description",
            "template",
            "detector",
            "enabled",
            "severity",
            "severity_name",
            "category",
            "filters",
            "mode",
            "repeat_count",
            "repeat_window_minutes",
            "repeat_per_user",
            "repeat_per_app",
            "daily_alert_limit",
            "dedupe_minutes",
            "include_groups",
            "exclude_groups",
            "governance",
            "tuning",
            "options",
            "alerts_last_7_days",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OptionSerializer(many=True))
    def get_options(self, policy: Policy) -> list[dict]:
        detector = selectors.detector_of(policy) if policy.kind == PolicyKind.ANOMALY else None
        if detector is None:
            return []
        return [
            {
                "name": o.name,
                "label": o.label,
                "kind": o.kind,
                "default": o.default,
                "minimum": o.minimum,
                "maximum": o.maximum,
                "choices": [list(c) for c in o.choices],
                "help": o.help,
            }
            for o in detector.options
        ]


class PolicyInputSerializer(serializers.Serializer):
    """What a client may send; `policy_services` checks the rules (bounds, filters, groups)."""

    kind = serializers.ChoiceField(
        choices=PolicyKind.choices, required=False, help_text="Only `activity` can be created."
    )
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    template = serializers.CharField(
        max_length=60, required=False, allow_blank=True, help_text="A key of /policies/templates/."
    )
    enabled = serializers.BooleanField(required=False)
    severity = serializers.ChoiceField(
        choices=Severity.choices, required=False, help_text="0 Informational … 3 High."
    )
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    filters = serializers.JSONField(
        required=False,
        help_text="The activity filter object of POST /activities/ (no `date`/`created`).",
    )
    mode = serializers.ChoiceField(choices=MatchMode.choices, required=False)
    repeat_count = serializers.IntegerField(required=False, help_text="Repeated: 2-10,000.")
    repeat_window_minutes = serializers.IntegerField(
        required=False, help_text="Repeated: 1-10,080 minutes."
    )
    repeat_per_user = serializers.BooleanField(required=False)
    repeat_per_app = serializers.BooleanField(required=False)
    daily_alert_limit = serializers.IntegerField(required=False, help_text="1-1,000.")
    dedupe_minutes = serializers.IntegerField(required=False, help_text="1-10,080.")
    include_groups = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, help_text="User group ids."
    )
    exclude_groups = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False
    )
    governance = serializers.ListField(
        child=serializers.ChoiceField(choices=GovernanceKind.choices), required=False
    )
    tuning = serializers.DictField(
        required=False, help_text="Built-in detections: option name -> value (see `options`)."
    )


class TemplateSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    logic = serializers.CharField(help_text="The documented logic and threshold.")
    available = serializers.BooleanField(help_text="False: arrives with `needs`.")
    needs = serializers.CharField()
    policy = serializers.JSONField(help_text="The fields a policy made from it starts with.")


def _refused(exc: services.PolicyRefused) -> serializers.ValidationError:
    return serializers.ValidationError(exc.problems)


FILE_POLICIES_ELSEWHERE = "File policies are created and changed at /api/v1/file-policies/."


def _not_a_file_policy(policy: Policy) -> None:
    if policy.kind == PolicyKind.FILE:
        raise serializers.ValidationError({"kind": [FILE_POLICIES_ELSEWHERE]})


_KIND = OpenApiParameter("kind", OpenApiTypes.STR, enum=PolicyKind.values, required=False)


@extend_schema(tags=["policies"])
@extend_schema_view(
    list=extend_schema(
        summary="List activity policies and built-in detections", parameters=[_KIND]
    ),
    retrieve=extend_schema(summary="One policy or detection"),
    create=extend_schema(
        summary="Create an activity policy",
        request=PolicyInputSerializer,
        responses={201: PolicySerializer},
    ),
    update=extend_schema(
        summary="Replace an activity policy (fields left out take their defaults)",
        request=PolicyInputSerializer,
        responses={200: PolicySerializer},
    ),
    partial_update=extend_schema(
        summary="Change a policy, or a detection's settings",
        request=PolicyInputSerializer,
        responses={200: PolicySerializer},
    ),
    destroy=extend_schema(
        summary="Delete an activity policy (built-in detections answer 409: switch them off)",
        responses={204: None},
    ),
    templates=extend_schema(
        summary="The policy template catalogue", responses={200: TemplateSerializer(many=True)}
    ),
)
class PolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The token's tenant's policies; writes need the right to manage policies."""

    model = Policy
    serializer_class = PolicySerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_POLICIES
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        kind = self.request.query_params.get("kind") or None
        if kind is not None and kind not in PolicyKind.values:
            raise serializers.ValidationError(
                {"kind": [f"Unknown kind; use one of: {', '.join(PolicyKind.values)}."]}
            )
        return selectors.policies(kind)

    def list(self, request, *args, **kwargs):
        services.ensure_detections(request.tenant)
        return super().list(request, *args, **kwargs)

    def _input(self, request) -> dict:
        data = PolicyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)

    def _answer(self, policy: Policy, code=status.HTTP_200_OK) -> Response:
        fresh = selectors.policies().get(pk=policy.pk)
        return Response(PolicySerializer(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        values = self._input(request)
        kind = values.pop("kind", PolicyKind.ACTIVITY)
        if kind == PolicyKind.FILE:
            raise serializers.ValidationError({"kind": [FILE_POLICIES_ELSEWHERE]})
        if kind != PolicyKind.ACTIVITY:
            raise serializers.ValidationError(
                {"kind": ["Built-in detections exist already; change their settings with PATCH."]}
            )
        try:
            policy = services.create_policy(
                tenant=request.tenant, actor=request.auth, request=request, **values
            )
        except services.PolicyRefused as exc:
            raise _refused(exc) from exc
        return self._answer(policy, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        policy = self.get_object()
        _not_a_file_policy(policy)
        values = self._input(request)
        values.pop("kind", None)
        if policy.kind != PolicyKind.ACTIVITY:
            raise serializers.ValidationError(
                {
                    "kind": [
                        "A built-in detection cannot be replaced; change its settings with PATCH."
                    ]
                }
            )
        if "name" not in values:
            raise serializers.ValidationError(
                {"name": ["A replace (PUT) sends the whole policy, its name included."]}
            )
        full = {**services.DEFAULTS, "enabled": policy.enabled, "template": policy.template}
        return self._change(request, policy, {**full, **values})

    def partial_update(self, request, *args, **kwargs):
        policy = self.get_object()
        _not_a_file_policy(policy)
        values = self._input(request)
        if values.pop("kind", policy.kind) != policy.kind:
            raise serializers.ValidationError({"kind": ["A policy's kind cannot change."]})
        return self._change(request, policy, values)

    def _change(self, request, policy: Policy, values: dict) -> Response:
        change = (
            services.update_policy
            if policy.kind == PolicyKind.ACTIVITY
            else services.update_detection
        )
        try:
            policy = change(
                tenant=request.tenant, actor=request.auth, policy=policy, request=request, **values
            )
        except services.PolicyRefused as exc:
            raise _refused(exc) from exc
        return self._answer(policy)

    def destroy(self, request, *args, **kwargs):
        policy = self.get_object()
        if policy.kind == PolicyKind.FILE:
            raise Conflict(FILE_POLICIES_ELSEWHERE)
        if policy.kind != PolicyKind.ACTIVITY:
            # The detection exists whatever the client does: a conflict with its state.
            raise Conflict("Built-in detections cannot be deleted; switch them off instead.")
        try:
            services.delete_policy(
                tenant=request.tenant, actor=request.auth, policy=policy, request=request
            )
        except services.PolicyRefused as exc:
            raise _refused(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=False, methods=["get"], pagination_class=None)
    def templates(self, request, *args, **kwargs):
        rows = [
            {
                "key": t.key,
                "name": t.name,
                "category": t.category,
                "logic": t.logic,
                "available": t.available,
                "needs": t.needs,
                "policy": t.values() if t.available else {},
            }
            for t in policy_templates.TEMPLATES
        ]
        return Response(TemplateSerializer(rows, many=True).data)
