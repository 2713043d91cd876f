"""The alerts API: /api/v1/alerts/ (list, one alert with its entities, PATCH triage, bulk, CSV).

- GET  /alerts/?<filters>            the queue's filters (`filtersets.py`), page-number pages
- GET  /alerts/<id>/                 one alert with its people, accounts, apps, IPs, activity
                                     ids, policy and governance actions
- PATCH /alerts/<id>/                {"status", "resolution", "reason", "comment", "assignee",
                                     "read"}: each given field is one triage change, all applied
                                     together or none (400 naming the field)
- POST /alerts/bulk/                 {"ids": [...], "operation": ..., ...} -> counts; ids of
                                     another tenant are "not found", like missing ones
- GET  /alerts/export/?<filters>     CSV (needs the export right)

Reading needs VIEW; triage needs MANAGE_ALERTS (readers get 403), the export EXPORT.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.activities.api import (
    AccountRefSerializer,
    AppRefSerializer,
    JSONAnswers,
    PersonRefSerializer,
)
from apps.activities.export import describe_filters
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictUUIDField,
)
from apps.tenants.permissions import Action, may

from . import export, selectors, services
from .filtersets import AlertFilterSet
from .models import RESOLUTION_REASONS, Alert, AlertActivity, AlertStatus, Resolution

# --- Serializers -------------------------------------------------------------------------------


class AlertAccountSerializer(AccountRefSerializer):
    app = AppRefSerializer(source="app_instance")


class PolicyRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.CharField()


class ActivityRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="activity_id")
    occurred_at = serializers.DateTimeField()


class GovernanceRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.CharField()
    target_label = serializers.CharField()
    created_at = serializers.DateTimeField()


class AlertSerializer(serializers.ModelSerializer):
    severity_label = serializers.CharField(source="get_severity_display", read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    assignee = serializers.IntegerField(
        source="assignee_id", read_only=True, allow_null=True, help_text="Portal user id."
    )
    reason = serializers.CharField(source="resolution_reason", read_only=True)
    policy = serializers.UUIDField(source="policy_id", read_only=True, allow_null=True)
    users = PersonRefSerializer(many=True, read_only=True)
    apps = AppRefSerializer(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "number",
            "title",
            "description",
            "alert_type",
            "severity",
            "severity_label",
            "category",
            "status",
            "is_open",
            "resolution",
            "reason",
            "comment",
            "assignee",
            "assignee_label",
            "resolved_by_label",
            "resolved_at",
            "read",
            "policy",
            "policy_name",
            "users",
            "apps",
            "ips",
            "trigger_count",
            "first_triggered_at",
            "last_triggered_at",
            "created_at",
        ]
        read_only_fields = fields


class AlertDetailSerializer(AlertSerializer):
    evidence = serializers.ListField(child=serializers.CharField(), read_only=True)
    accounts = AlertAccountSerializer(many=True, read_only=True)
    policy = serializers.SerializerMethodField()
    activities = serializers.SerializerMethodField(
        help_text="The linked activities (ids and times; fetch them from /activities/<id>/)."
    )
    governance_actions = serializers.SerializerMethodField()

    class Meta(AlertSerializer.Meta):
        fields = [
            *AlertSerializer.Meta.fields,
            "evidence",
            "accounts",
            "activities",
            "governance_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(PolicyRefSerializer(allow_null=True))
    def get_policy(self, item: Alert) -> dict | None:
        if item.policy is None:
            return None
        return PolicyRefSerializer(item.policy).data

    @extend_schema_field(ActivityRefSerializer(many=True))
    def get_activities(self, item: Alert) -> list[dict]:
        links = AlertActivity.objects.filter(alert=item).order_by("occurred_at")
        return ActivityRefSerializer(links[: AlertActivity.MAX_PER_ALERT], many=True).data

    @extend_schema_field(GovernanceRefSerializer(many=True))
    def get_governance_actions(self, item: Alert) -> list[dict]:
        rows = item.governance_actions.order_by("-created_at")[:50]
        return GovernanceRefSerializer(rows, many=True).data


_REASONS_HELP = "; ".join(
    f"{resolution}: {', '.join(reasons)}" for resolution, reasons in RESOLUTION_REASONS.items()
)


class AlertChangeSerializer(serializers.Serializer):
    """PATCH body: every field is optional; the given ones are applied together."""

    status = serializers.ChoiceField(
        choices=AlertStatus.choices,
        required=False,
        help_text="open or in_progress (reopens a closed alert); resolved needs `resolution` "
        "and `reason`; dismissed takes an optional `comment`.",
    )
    resolution = serializers.ChoiceField(
        choices=[(v, label) for v, label in Resolution.choices if v], required=False
    )
    reason = StrictCharField(
        required=False, max_length=40, help_text=f"The reason of the resolution ({_REASONS_HELP})."
    )
    comment = StrictCharField(
        required=False, allow_blank=True, max_length=services.COMMENT_MAX_LENGTH
    )
    assignee = StrictIntegerField(
        required=False, allow_null=True, help_text="A member's user id; null unassigns."
    )
    read = StrictBooleanField(required=False)

    def validate(self, data):
        status = data.get("status")
        if "resolution" in data and status not in (None, AlertStatus.RESOLVED):
            raise serializers.ValidationError(
                {"status": "A resolution closes the alert as resolved."}
            )
        if status == AlertStatus.RESOLVED and "resolution" not in data:
            raise serializers.ValidationError({"resolution": "Resolving needs a resolution."})
        if "reason" in data and "resolution" not in data:
            raise serializers.ValidationError({"reason": "A reason goes with a resolution."})
        if "comment" in data and "resolution" not in data and status != AlertStatus.DISMISSED:
            raise serializers.ValidationError(
                {"comment": "A comment goes with resolving or dismissing."}
            )
        return data


class BulkSerializer(serializers.Serializer):
    ids = serializers.ListField(child=StrictUUIDField(), min_length=1, max_length=services.MAX_BULK)
    operation = serializers.ChoiceField(choices=services.Operation.CHOICES)
    resolution = serializers.ChoiceField(
        choices=[(v, label) for v, label in Resolution.choices if v],
        required=False,
        help_text="operation=resolve",
    )
    reason = StrictCharField(required=False, max_length=40, help_text="operation=resolve")
    comment = StrictCharField(
        required=False, allow_blank=True, max_length=services.COMMENT_MAX_LENGTH
    )
    assignee = StrictIntegerField(
        required=False, allow_null=True, help_text="operation=assign: a member's user id."
    )


class BulkAnswerSerializer(serializers.Serializer):
    changed = serializers.IntegerField()
    unchanged = serializers.IntegerField(help_text="Found, but already so (or already closed).")
    not_found = serializers.ListField(child=serializers.UUIDField())


def _refused(exc: services.AlertRefused) -> exceptions.ValidationError:
    return exceptions.ValidationError({name: [text] for name, text in exc.problems.items()})


# --- The viewset -------------------------------------------------------------------------------


@extend_schema(tags=["alerts"])
@extend_schema_view(
    list=extend_schema(summary="Alerts, most recently triggered first (queue filters)"),
    retrieve=extend_schema(summary="One alert with its entities, activities and governance"),
    partial_update=extend_schema(
        summary="Triage one alert: status, resolution + reason + comment, assignee, read",
        request=AlertChangeSerializer,
        responses={200: AlertDetailSerializer},
    ),
    bulk=extend_schema(
        summary="Apply one triage operation to many alerts",
        request=BulkSerializer,
        responses={200: BulkAnswerSerializer},
    ),
    export=extend_schema(
        summary="CSV export of the filtered alerts (streamed; needs the export right)",
        filters=True,
        responses={(200, "text/csv"): OpenApiTypes.STR},
    ),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The token's tenant's alerts. Triage needs MANAGE_ALERTS, the export EXPORT."""

    model = Alert
    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet
    content_negotiation_class = JSONAnswers
    read_action = Action.VIEW
    write_action = Action.MANAGE_ALERTS
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped_queryset(self):
        if self.action in ("retrieve", "partial_update"):
            return Alert.objects.select_related("policy").prefetch_related(
                "users", "apps", "accounts__app_instance"
            )
        return selectors.queue()

    def get_serializer_class(self):
        if self.action in ("retrieve", "partial_update"):
            return AlertDetailSerializer
        return AlertSerializer

    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        body = AlertChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            self._change(item, body.validated_data)
        except services.AlertRefused as exc:
            raise _refused(exc) from exc
        return Response(AlertDetailSerializer(self.get_object()).data)

    def _change(self, item: Alert, data: dict) -> None:
        """All of the body's changes in one transaction: a refused one undoes the others."""
        tenant = self.request.tenant
        common = {"tenant": tenant, "actor": self.request.auth, "request": self.request}
        status = data.get("status")
        with transaction.atomic(using=tenant.db_alias):
            if status in services.SETTABLE_STATUSES:
                services.change_status(alert=item, status=status, **common)
            if "resolution" in data:
                services.resolve(
                    alert=item,
                    resolution=data["resolution"],
                    reason=data.get("reason", ""),
                    comment=data.get("comment", ""),
                    **common,
                )
            elif status == AlertStatus.DISMISSED:
                services.dismiss(alert=item, comment=data.get("comment", ""), **common)
            if "assignee" in data:
                services.assign(alert=item, assignee_id=data["assignee"], **common)
            if "read" in data:
                services.mark_read(alert=item, read=data["read"], **common)

    @action(detail=False, methods=["post"], url_path="bulk", pagination_class=None)
    def bulk(self, request, *args, **kwargs):
        body = BulkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            result = services.bulk_apply(
                tenant=request.tenant,
                actor=request.auth,
                ids=data["ids"],
                operation=data["operation"],
                resolution=data.get("resolution", ""),
                reason=data.get("reason", ""),
                comment=data.get("comment", ""),
                assignee_id=data.get("assignee"),
                request=request,
            )
        except services.AlertRefused as exc:
            raise _refused(exc) from exc
        return Response(
            {
                "changed": result.changed,
                "unchanged": result.unchanged,
                "not_found": result.not_found,
            }
        )

    @action(detail=False, methods=["get"], url_path="export", pagination_class=None)
    def export(self, request, *args, **kwargs):
        if not may(request.user, Action.EXPORT, request.tenant, token=request.auth):
            raise exceptions.PermissionDenied("Your role does not allow exports.")
        filterset = AlertFilterSet(
            request.query_params, queryset=self.get_queryset(), request=request
        )
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        return export.stream(
            tenant=request.tenant,
            queryset=filterset.qs,
            filters=describe_filters(filterset.form.cleaned_data),
            actor=request.auth,
            request=request,
        )
