"""The governance API: /api/v1/governance/ (the log, requesting an action, retrying one).

- GET  /governance/?<filters>        the log's filters (`filtersets.py`), page-number pages
- GET  /governance/<id>/             one action
- POST /governance/                  {"kind", "account" | "app" + "file_id" | "client_id",
                                     "alert"?, "comment"?} -> 201 with the pending action;
                                     400 names the field at fault (unknown action, one the app
                                     cannot carry out, a missing target); an account, app or
                                     alert of another tenant is 404, like a missing one
- POST /governance/<id>/retry/       a failed action again -> 201 with the new action; 409 if
                                     it is not failed or a retry is already under way

Reading needs VIEW; requesting and retrying need RUN_GOVERNANCE (readers get 403).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.activities.api import AppRefSerializer
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.errors import Conflict
from apps.tenants.permissions import Action

from . import selectors, services
from .filtersets import GovernanceFilterSet
from .models import GovernanceAction, GovernanceKind


class AlertRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.IntegerField()
    title = serializers.CharField()


class GovernanceActionSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    app = AppRefSerializer(source="app_instance", read_only=True, allow_null=True)
    alert = AlertRefSerializer(read_only=True, allow_null=True)
    policy = serializers.UUIDField(source="policy_id", read_only=True, allow_null=True)
    account = serializers.UUIDField(source="account_id", read_only=True, allow_null=True)
    user = serializers.UUIDField(
        source="user_id", read_only=True, allow_null=True, help_text="The person's id."
    )
    initiated_by = serializers.CharField(
        source="initiated_by_label", read_only=True, help_text="The admin, or the policy."
    )
    initiated_by_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Portal user id of the admin."
    )
    retry_of = serializers.UUIDField(source="retry_of_id", read_only=True, allow_null=True)

    class Meta:
        model = GovernanceAction
        fields = [
            "id",
            "kind",
            "kind_label",
            "status",
            "status_label",
            "source",
            "initiated_by",
            "initiated_by_id",
            "policy",
            "alert",
            "app",
            "target_type",
            "target_ref",
            "target_label",
            "account",
            "user",
            "comment",
            "attempts",
            "error",
            "result",
            "created_at",
            "started_at",
            "finished_at",
            "next_attempt_at",
            "retry_of",
        ]
        read_only_fields = fields


class RunActionSerializer(serializers.Serializer):
    """What to run, and on what (one of: an account; an app and a file; an app and an OAuth
    client id, optionally with an account for one person's grant)."""

    kind = serializers.ChoiceField(choices=GovernanceKind.choices)
    account = serializers.UUIDField(required=False, allow_null=True)
    app = serializers.UUIDField(required=False, allow_null=True)
    file_id = serializers.CharField(required=False, allow_blank=True, max_length=300)
    client_id = serializers.CharField(required=False, allow_blank=True, max_length=300)
    target_label = serializers.CharField(required=False, allow_blank=True, max_length=300)
    alert = serializers.UUIDField(required=False, allow_null=True)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


def _found(lookup, value, what: str):
    if value is None:
        return None
    found = lookup(value)
    if found is None:
        raise exceptions.NotFound(f"No such {what}.")
    return found


@extend_schema(tags=["governance"])
@extend_schema_view(
    list=extend_schema(summary="The governance log, newest first"),
    retrieve=extend_schema(summary="One governance action and its outcome"),
    create=extend_schema(
        summary="Request a governance action",
        request=RunActionSerializer,
        responses={201: GovernanceActionSerializer},
    ),
    retry=extend_schema(
        summary="Retry a failed action", request=None, responses={201: GovernanceActionSerializer}
    ),
)
class GovernanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Actions run through the connectors: read by every role, run by admins."""

    model = GovernanceAction
    serializer_class = GovernanceActionSerializer
    filterset_class = GovernanceFilterSet
    read_action = Action.VIEW
    write_action = Action.RUN_GOVERNANCE
    http_method_names = ["get", "post", "head", "options"]

    def scoped_queryset(self):
        return selectors.actions()

    def create(self, request, *args, **kwargs):
        data = RunActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        account = _found(selectors.account, values.get("account"), "account")
        app = _found(selectors.app_instance, values.get("app"), "app")
        alert = _found(selectors.alert, values.get("alert"), "alert")
        try:
            created = services.request_manual(
                kind=values["kind"],
                actor=request.user,
                request=request,
                account=account,
                app_instance=app,
                file_id=values.get("file_id", ""),
                client_id=values.get("client_id", ""),
                target_label=values.get("target_label", ""),
                alert=alert,
                comment=values.get("comment", ""),
            )
        except services.GovernanceRefused as exc:
            raise serializers.ValidationError({exc.field: [str(exc)]}) from exc
        created = selectors.action(created.pk)
        return Response(GovernanceActionSerializer(created).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def retry(self, request, *args, **kwargs):
        original = self.get_object()
        try:
            retried = services.retry_action(action=original, actor=request.user, request=request)
        except services.GovernanceRefused as exc:
            raise Conflict(str(exc), code="not_retryable") from exc
        retried = selectors.action(retried.pk)
        return Response(GovernanceActionSerializer(retried).data, status=status.HTTP_201_CREATED)
