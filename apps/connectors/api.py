"""API of connected apps: /api/v1/apps/ (list, detail, create, update, delete, poll).

Thin: reads through `selectors`, writes through `services`. Credentials are write-only: an
answer says which credential fields are set, never their values.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.errors import Conflict
from apps.tenants.permissions import Action

from . import selectors, services
from . import status as words
from .models import AppInstance, Vendor


class CursorSerializer(serializers.Serializer):
    stream = serializers.CharField()
    position = serializers.JSONField()
    updated_at = serializers.DateTimeField()


class AppInstanceSerializer(serializers.ModelSerializer):
    status_words = serializers.SerializerMethodField(help_text="The status in plain words.")
    health = serializers.SerializerMethodField(help_text="ok, warn, bad or empty.")
    lag_seconds = serializers.SerializerMethodField(
        help_text="Last successful poll minus the newest event's time."
    )

    class Meta:
        model = AppInstance
        fields = [
            "id",
            "vendor",
            "name",
            "base_url",
            "enabled",
            "status",
            "status_words",
            "health",
            "status_detail",
            "retry_at",
            "last_attempt_at",
            "last_success_at",
            "latest_event_at",
            "lag_seconds",
            "next_poll_at",
            "last_directory_sync_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_status_words(self, instance: AppInstance) -> str:
        return words.words(instance)

    def get_health(self, instance: AppInstance) -> str:
        return words.health(instance)

    def get_lag_seconds(self, instance: AppInstance) -> int | None:
        lag = instance.lag
        return int(lag.total_seconds()) if lag is not None else None


class AppInstanceDetailSerializer(AppInstanceSerializer):
    credentials_set = serializers.SerializerMethodField(
        help_text="Names of the credential fields that hold a value (never the values)."
    )
    cursors = serializers.SerializerMethodField()

    class Meta(AppInstanceSerializer.Meta):
        fields = [*AppInstanceSerializer.Meta.fields, "credentials_set", "cursors"]
        read_only_fields = fields

    def get_credentials_set(self, instance: AppInstance) -> list[str]:
        return selectors.credential_names_set(instance)

    def get_cursors(self, instance: AppInstance) -> list[dict]:
        return CursorSerializer(selectors.cursors(instance), many=True).data


class CredentialsField(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.CharField(max_length=20000, allow_blank=True, trim_whitespace=True),
            write_only=True,
            **kwargs,
        )


class AppInstanceCreateSerializer(serializers.Serializer):
    # The model's choices (one enum in the schema); the service refuses vendors not polled.
    vendor = serializers.ChoiceField(choices=Vendor.choices)
    name = serializers.CharField(max_length=120)
    base_url = serializers.CharField(max_length=300, required=False, allow_blank=True)
    credentials = CredentialsField(help_text="The vendor's credential fields (write-only).")


class AppInstanceUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    base_url = serializers.CharField(max_length=300, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    credentials = CredentialsField(
        required=False, help_text="Fields to change; an empty secret keeps the stored one."
    )


def _refused(exc: services.InstanceRefused) -> serializers.ValidationError:
    problems: dict[str, list[str]] = {}
    for key, message in exc.problems.items():
        if key in ("vendor", "name", "base_url"):
            problems.setdefault(key, []).append(message)
        elif key:
            problems.setdefault("credentials", []).append(f"{key}: {message}")
        else:
            problems.setdefault("non_field_errors", []).append(message)
    return serializers.ValidationError(problems)


@extend_schema(tags=["connected apps"])
@extend_schema_view(
    list=extend_schema(summary="List connected apps and their status"),
    retrieve=extend_schema(summary="One connected app, with its cursors"),
    create=extend_schema(
        summary="Connect an app",
        request=AppInstanceCreateSerializer,
        responses={201: AppInstanceDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Rename, re-key, pause or resume a connected app",
        request=AppInstanceUpdateSerializer,
        responses={200: AppInstanceDetailSerializer},
    ),
    destroy=extend_schema(summary="Disconnect an app", responses={204: None}),
    poll=extend_schema(summary="Poll now", request=None, responses={202: None, 409: None}),
)
class AppInstanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The token's tenant's connected apps. Writes need the right to manage settings."""

    model = AppInstance
    serializer_class = AppInstanceSerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_SETTINGS
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return selectors.instances()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return AppInstanceDetailSerializer
        return AppInstanceSerializer

    def create(self, request, *args, **kwargs):
        data = AppInstanceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            instance = services.create_instance(
                tenant=request.tenant, actor=request.auth, request=request, **data.validated_data
            )
        except services.InstanceRefused as exc:
            raise _refused(exc) from exc
        return Response(AppInstanceDetailSerializer(instance).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        instance = self.get_object()
        data = AppInstanceUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        enabled = values.pop("enabled", None)
        try:
            if values:
                instance = services.update_instance(
                    instance=instance, actor=request.auth, request=request, **values
                )
            if enabled is not None:
                instance = services.set_enabled(
                    instance=instance, actor=request.auth, enabled=enabled, request=request
                )
        except services.InstanceRefused as exc:
            raise _refused(exc) from exc
        return Response(AppInstanceDetailSerializer(instance).data)

    def destroy(self, request, *args, **kwargs):
        services.delete_instance(instance=self.get_object(), actor=request.auth, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def poll(self, request, *args, **kwargs):
        try:
            services.request_poll(instance=self.get_object())
        except services.InstanceRefused as exc:
            raise Conflict(str(exc), code="not_pollable") from exc
        return Response(status=status.HTTP_202_ACCEPTED)
