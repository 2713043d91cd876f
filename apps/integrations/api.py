"""Integrations API: SIEM agents and webhooks (under /api/v1/integrations/).

- `integrations/destinations/` (list, create) and `integrations/destinations/<id>/` (read,
  change, delete); `.../<id>/rotate-secret/` (POST: a webhook's new secret),
  `.../<id>/dead-letters/` and `.../<id>/deliveries/` (GET, newest first);
- `integrations/dead-letters/<id>/resend/` (POST: queue a dead letter again).

Reads for every token; writes need `Action.MANAGE_SETTINGS`. A webhook's signing secret is in
the create answer and the rotate-secret answer only, never in any other answer. A webhook URL is
shown without its query string (a flow's callback URL carries its signature there). Rules of
the settings: `services.clean_destination`; refusals are 400 naming the field, under `config`
and `filters` for theirs.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.errors import Conflict
from apps.tenants.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from apps.tenants.permissions import Action

from . import selectors, services
from .models import DeadLetter, Delivery, Destination, DestinationKind

_KIND_HELP = "`siem` (CEF over syslog) or `webhook` (each alert POSTed as signed JSON)."
_DATA_KINDS_HELP = "What it receives: `alert` and/or `activities`; a webhook receives `alert` only."


def _reject_unknown(serializer: serializers.Serializer, data) -> None:
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(serializer.fields))
        if unknown:
            raise serializers.ValidationError({key: ["Unknown field."] for key in unknown[:10]})


class DestinationConfigSerializer(serializers.Serializer):
    """A destination's settings: `url` for a webhook; the others for a SIEM agent."""

    url = StrictCharField(
        required=False,
        max_length=services.MAX_URL,
        help_text="Webhook: https URL. Shown without its query string in answers.",
    )
    host = StrictCharField(
        required=False, max_length=services.MAX_HOST, help_text="SIEM: syslog host name or IP."
    )
    port = StrictIntegerField(required=False, min_value=1, max_value=65535, help_text="SIEM.")
    transport = StrictCharField(
        required=False, help_text="SIEM: `udp`, `tcp` (default, RFC 6587) or `tls` (RFC 5425)."
    )
    time_format = StrictCharField(
        required=False,
        help_text="SIEM: `rfc3164`, `rfc3164_year` or `rfc5424` (default).",
    )
    include_pri = StrictBooleanField(required=False, help_text="SIEM: write the PRI (default).")
    hostname = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="SIEM: system name before each CEF line; empty: none.",
    )
    ca_pem = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=services.MAX_PEM,
        help_text="SIEM over TLS: CA certificates (PEM) to trust instead of the public CAs.",
    )
    reference_compat = StrictBooleanField(
        required=False, help_text="SIEM: byte-compatible with the reference product's samples."
    )

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)


class DestinationFiltersSerializer(serializers.Serializer):
    min_severity = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=3,
        help_text="Alerts of this severity and above: 0 informational, 1 low, 2 medium, 3 high.",
    )
    activity_types = serializers.ListField(
        child=StrictCharField(max_length=40),
        required=False,
        max_length=50,
        help_text="Activities of these types only (see the activity API's `activity_type`); "
        "empty: every type.",
    )
    apps = serializers.ListField(
        child=StrictCharField(max_length=64),
        required=False,
        max_length=100,
        help_text="Activities of these connected apps (AppInstance ids) only; empty: every app.",
    )

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)


class DestinationBacklogSerializer(serializers.Serializer):
    events = serializers.IntegerField(help_text="Outbox events after its cursor, waiting.")
    oldest_waiting_since = serializers.DateTimeField(
        allow_null=True, help_text="When the oldest waiting event was recorded."
    )


class DestinationSerializer(serializers.ModelSerializer):
    """A destination as answered: never its secret."""

    kind = serializers.CharField(read_only=True, help_text=_KIND_HELP)
    data_kinds = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text=_DATA_KINDS_HELP
    )
    status = serializers.CharField(
        read_only=True,
        help_text="`pending` (not connected yet), `connected`, `error` (see `status_reason`) "
        "or `disconnected` (turned off).",
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    config = serializers.SerializerMethodField()
    filters = serializers.SerializerMethodField()
    backlog = serializers.SerializerMethodField()

    class Meta:
        model = Destination
        fields = [
            "id",
            "kind",
            "name",
            "enabled",
            "data_kinds",
            "filters",
            "config",
            "status",
            "status_label",
            "status_reason",
            "backlog",
            "last_delivered_at",
            "last_error_at",
            "next_attempt_at",
            "consecutive_failures",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(DestinationConfigSerializer)
    def get_config(self, destination: Destination) -> dict:
        config = dict(destination.config or {})
        if "url" in config:
            config["url"] = selectors.display_url(str(config["url"]))
        return config

    @extend_schema_field(DestinationFiltersSerializer)
    def get_filters(self, destination: Destination) -> dict:
        return dict(destination.filters or {})

    @extend_schema_field(DestinationBacklogSerializer)
    def get_backlog(self, destination: Destination) -> dict:
        seq = self.context.get("seq")
        if seq is None:
            seq = self.context["seq"] = selectors.current_seq()
        found = selectors.backlog(destination, seq)
        return {"events": found.events, "oldest_waiting_since": found.oldest_at}


class DestinationCreatedSerializer(DestinationSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="A webhook's signing secret, in this answer only (empty for a SIEM agent).",
    )

    class Meta(DestinationSerializer.Meta):
        fields = [*DestinationSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class DestinationInputSerializer(serializers.Serializer):
    kind = StrictCharField(help_text=_KIND_HELP)
    name = StrictCharField(max_length=services.MAX_NAME)
    data_kinds = serializers.ListField(
        child=StrictCharField(max_length=20), max_length=2, help_text=_DATA_KINDS_HELP
    )
    config = DestinationConfigSerializer()
    filters = DestinationFiltersSerializer(required=False)

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)


class DestinationPatchSerializer(serializers.Serializer):
    """The fields a change may set; `config` is merged key by key; the kind never changes."""

    name = StrictCharField(required=False, max_length=services.MAX_NAME)
    enabled = StrictBooleanField(
        required=False,
        help_text="false: turn off (nothing is sent); true: turn on again (receives what "
        "happens from then on).",
    )
    data_kinds = serializers.ListField(
        child=StrictCharField(max_length=20),
        required=False,
        max_length=2,
        help_text=_DATA_KINDS_HELP,
    )
    config = DestinationConfigSerializer(required=False)
    filters = DestinationFiltersSerializer(required=False)

    def to_internal_value(self, data):
        _reject_unknown(self, data)
        return super().to_internal_value(data)


class DestinationSecretSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    secret = serializers.CharField(help_text="The new signing secret, in this answer only.")


class DeadLetterSerializer(serializers.ModelSerializer):
    destination = serializers.UUIDField(source="destination_id", read_only=True)
    kind = serializers.CharField(read_only=True, help_text="`alert` or `activities`.")

    class Meta:
        model = DeadLetter
        fields = [
            "id",
            "destination",
            "seq",
            "kind",
            "ref",
            "error",
            "attempts",
            "created_at",
            "resent_at",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.SerializerMethodField(help_text="The `X-CASB-Event-Id` sent.")
    kind = serializers.CharField(read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "seq",
            "kind",
            "ref",
            "ok",
            "status_code",
            "error",
            "duration_ms",
            "attempted_at",
        ]
        read_only_fields = fields

    def get_event_id(self, delivery: Delivery) -> str:
        return f"{delivery.seq}-{delivery.ref}"


_CONFIG_KEYS = set(DestinationConfigSerializer().fields)
_FILTER_KEYS = set(DestinationFiltersSerializer().fields)


def _service_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    """The services' flat field names, nested under `config` and `filters` where they belong."""
    if not hasattr(exc, "error_dict"):
        return serializers.ValidationError({"non_field_errors": exc.messages})
    errors: dict = {}
    for field, messages in exc.message_dict.items():
        if field in _CONFIG_KEYS:
            errors.setdefault("config", {})[field] = messages
        elif field in _FILTER_KEYS:
            errors.setdefault("filters", {})[field] = messages
        else:
            errors[field] = messages
    return serializers.ValidationError(errors)


@extend_schema(tags=["integrations"])
@extend_schema_view(
    list=extend_schema(summary="List SIEM agents and webhooks with their status and backlog"),
    retrieve=extend_schema(summary="One SIEM agent or webhook"),
    create=extend_schema(
        summary="Add a SIEM agent or a webhook (a webhook's secret is in this answer only)",
        request=DestinationInputSerializer,
        responses={201: DestinationCreatedSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a destination, or turn it off or on",
        request=DestinationPatchSerializer,
        responses={200: DestinationSerializer},
    ),
    destroy=extend_schema(summary="Delete a destination", responses={204: None}),
    rotate_secret=extend_schema(
        summary="Make a webhook's new signing secret (in this answer only)",
        request=None,
        responses={200: DestinationSecretSerializer},
    ),
    dead_letters=extend_schema(
        summary="Items the destination refused for good, newest first",
        responses={200: DeadLetterSerializer(many=True)},
    ),
    deliveries=extend_schema(
        summary="A webhook's delivery history, newest first",
        responses={200: DeliverySerializer(many=True)},
    ),
)
class DestinationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """SIEM agents and webhooks: where alerts and activities are pushed."""

    model = Destination
    serializer_class = DestinationSerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_SETTINGS
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return selectors.destinations()

    def create(self, request, *args, **kwargs):
        data = DestinationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        try:
            destination, secret = services.add_destination(
                actor=request.auth, request=request, **values
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        destination.secret = secret
        destination.oldest_waiting_at = None
        return Response(
            DestinationCreatedSerializer(destination).data, status=status.HTTP_201_CREATED
        )

    def partial_update(self, request, *args, **kwargs):
        destination = self.get_object()
        data = DestinationPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        enabled = values.pop("enabled", None)
        try:
            if values:
                services.update_destination(
                    destination, actor=request.auth, request=request, **values
                )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        if enabled is not None and enabled != destination.enabled:
            services.set_enabled(destination, enabled, actor=request.auth, request=request)
        return Response(self.get_serializer(self.get_object()).data)

    def destroy(self, request, *args, **kwargs):
        services.delete_destination(self.get_object(), actor=request.auth, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    def rotate_secret(self, request, *args, **kwargs):
        destination = self.get_object()
        if destination.kind != DestinationKind.WEBHOOK:
            raise Conflict("Only a webhook has a signing secret.", code="no_secret")
        secret = services.rotate_secret(destination, actor=request.auth, request=request)
        return Response({"id": destination.pk, "secret": secret})

    @action(detail=True, methods=["get"], url_path="dead-letters", url_name="dead-letters")
    def dead_letters(self, request, *args, **kwargs):
        page = self.paginate_queryset(selectors.dead_letters(self.get_object()))
        return self.get_paginated_response(DeadLetterSerializer(page, many=True).data)

    @action(detail=True, methods=["get"])
    def deliveries(self, request, *args, **kwargs):
        page = self.paginate_queryset(selectors.deliveries(self.get_object()))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


@extend_schema(tags=["integrations"])
class DeadLetterViewSet(TenantScopedViewSet):
    """Dead letters: send one again."""

    model = DeadLetter
    serializer_class = DeadLetterSerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_SETTINGS
    http_method_names = ["post", "options"]

    def scoped_queryset(self):
        return DeadLetter.objects.select_related("destination")

    @extend_schema(
        summary="Queue a dead letter again (for every destination receiving its kind)",
        request=None,
        responses={202: DeadLetterSerializer},
    )
    @action(detail=True, methods=["post"])
    def resend(self, request, *args, **kwargs):
        letter = self.get_object()
        services.resend_dead_letter(letter, actor=request.auth, request=request)
        return Response(DeadLetterSerializer(letter).data, status=status.HTTP_202_ACCEPTED)


ROUTES: list = [
    ("integrations/destinations", DestinationViewSet, "api-integrations-destinations"),
    ("integrations/dead-letters", DeadLetterViewSet, "api-integrations-dead-letters"),
]
