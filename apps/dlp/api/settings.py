"""DLP API: content inspection settings (see apps/dlp/api/__init__.py).

- GET    /dlp/sensitive-types/      every type the tenant's engine knows: built-in (with the
                                    tenant's thresholds and the defaults) and the tenant's own
- GET    /dlp/custom-types/         the tenant's own types; POST to add one
- GET    /dlp/custom-types/<id>/    one; PATCH to change it, DELETE to remove it
- GET    /dlp/thresholds/           per built-in type {"enabled", "min_count", "min_confidence"}
- PUT    /dlp/thresholds/           {"thresholds": {key: {...}}} replaces them (a key left out
                                    gets its defaults back)
- POST   /dlp/test/                 {"text": "..."} -> what the engine finds, masked; stores
                                    nothing

Reads (and the test) for every token; writes need `Action.MANAGE_SETTINGS`. The rules of a
custom regex (spec 3.3) are in `settings_services`; a pattern breaking them is a 400 saying why.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from apps.tenants.permissions import Action

from .. import settings_services
from ..models import CustomSensitiveType, DlpSettings


def _service_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    )


# --- Serializers ---------------------------------------------------------------------------


class SensitiveTypeSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The type key used in matches and file filters.")
    label = serializers.CharField()
    builtin = serializers.BooleanField()
    id = serializers.UUIDField(allow_null=True, help_text="The custom type's id (null: built-in).")
    enabled = serializers.BooleanField()
    min_count = serializers.IntegerField()
    min_confidence = serializers.IntegerField(help_text="1 low, 2 medium, 3 high.")
    default_min_count = serializers.IntegerField(allow_null=True)
    default_min_confidence = serializers.IntegerField(allow_null=True)


class CustomTypeSerializer(serializers.ModelSerializer):
    min_confidence = serializers.IntegerField(read_only=True, help_text="1 low, 2 medium, 3 high.")
    keywords = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = CustomSensitiveType
        fields = [
            "id",
            "key",
            "name",
            "regex",
            "keywords",
            "keywords_required",
            "min_count",
            "min_confidence",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CustomTypeInputSerializer(serializers.Serializer):
    """What a client may set; the regex limits are checked by the service."""

    name = StrictCharField(max_length=settings_services.MAX_NAME)
    regex = StrictCharField(
        max_length=settings_services.MAX_REGEX,
        required=False,
        allow_blank=True,
        help_text="Always case-insensitive; quantifiers only {n} or {n,m} with n, m below 10; "
        "no *, +, {n,}; only non-capturing groups (?:...); no back-references.",
    )
    keywords = serializers.ListField(
        child=StrictCharField(max_length=settings_services.MAX_KEYWORD),
        required=False,
        max_length=settings_services.MAX_KEYWORDS,
    )
    keywords_required = StrictBooleanField(required=False)
    min_count = StrictIntegerField(
        required=False, min_value=1, max_value=settings_services.MAX_MIN_COUNT
    )
    min_confidence = StrictIntegerField(
        required=False, min_value=1, max_value=3, help_text="1 low, 2 medium, 3 high."
    )
    enabled = StrictBooleanField(required=False)


class ThresholdSerializer(serializers.Serializer):
    enabled = StrictBooleanField(required=False)
    min_count = StrictIntegerField(
        required=False, min_value=1, max_value=settings_services.MAX_MIN_COUNT
    )
    min_confidence = StrictIntegerField(required=False, min_value=1, max_value=3)


class ThresholdsSerializer(serializers.Serializer):
    thresholds = serializers.DictField(
        child=ThresholdSerializer(),
        help_text="Built-in type key -> its settings; a key left out gets its defaults.",
    )


class ThresholdRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    enabled = serializers.BooleanField()
    min_count = serializers.IntegerField()
    min_confidence = serializers.IntegerField()
    default_min_count = serializers.IntegerField()
    default_min_confidence = serializers.IntegerField()


class ThresholdsAnswerSerializer(serializers.Serializer):
    thresholds = ThresholdRowSerializer(many=True)


class TestInputSerializer(serializers.Serializer):
    text = StrictCharField(max_length=settings_services.MAX_TRY_CHARS, trim_whitespace=False)


class TestSampleSerializer(serializers.Serializer):
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    evidence = serializers.CharField(help_text="Digits as # and letters as X.")
    context = serializers.CharField(help_text="At most 100 characters, digits as #.")
    confidence = serializers.CharField()


class TestResultSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    confidence = serializers.CharField()
    samples = TestSampleSerializer(many=True)


class TestAnswerSerializer(serializers.Serializer):
    results = TestResultSerializer(many=True)


# --- Viewsets ------------------------------------------------------------------------------


@extend_schema(tags=["content inspection"])
class SensitiveTypesViewSet(TenantScopedViewSet):
    """Built-in and custom types with the tenant's effective thresholds."""

    model = CustomSensitiveType
    http_method_names = ["get", "head", "options"]
    pagination_class = None  # a short, fixed list: answered whole

    @extend_schema(
        summary="Every sensitive information type (built-in and the tenant's own)",
        responses={200: SensitiveTypeSerializer(many=True)},
    )
    def list(self, request):
        rows = [
            {**row, "builtin": True, "id": None} for row in settings_services.effective_thresholds()
        ]
        rows += [
            {
                "key": c.key,
                "label": c.name,
                "builtin": False,
                "id": c.pk,
                "enabled": c.enabled,
                "min_count": c.min_count,
                "min_confidence": c.min_confidence,
                "default_min_count": None,
                "default_min_confidence": None,
            }
            for c in CustomSensitiveType.objects.order_by("name")
        ]
        return Response(SensitiveTypeSerializer(rows, many=True).data)


@extend_schema(tags=["content inspection"])
@extend_schema_view(
    list=extend_schema(summary="The tenant's own sensitive types"),
    retrieve=extend_schema(summary="One custom sensitive type"),
    create=extend_schema(
        summary="Add a custom sensitive type (a regex and/or keywords)",
        request=CustomTypeInputSerializer,
        responses={201: CustomTypeSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a custom sensitive type (its key stays)",
        request=CustomTypeInputSerializer(partial=True),
        responses={200: CustomTypeSerializer},
    ),
    destroy=extend_schema(summary="Delete a custom sensitive type", responses={204: None}),
)
class CustomTypeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = CustomSensitiveType
    serializer_class = CustomTypeSerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_SETTINGS
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return CustomSensitiveType.objects.order_by("name", "id")

    def create(self, request, *args, **kwargs):
        data = CustomTypeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            custom = settings_services.create_custom_type(
                tenant=request.tenant, actor=request.auth, request=request, **data.validated_data
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(CustomTypeSerializer(custom).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        custom = self.get_object()
        data = CustomTypeInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            custom = settings_services.update_custom_type(
                tenant=request.tenant,
                custom=custom,
                actor=request.auth,
                request=request,
                **data.validated_data,
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(CustomTypeSerializer(custom).data)

    def destroy(self, request, *args, **kwargs):
        custom = self.get_object()
        settings_services.delete_custom_type(
            tenant=request.tenant, custom=custom, actor=request.auth, request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["content inspection"])
class ThresholdsViewSet(TenantScopedViewSet):
    """Per built-in type thresholds of the tenant."""

    model = DlpSettings
    write_action = Action.MANAGE_SETTINGS
    http_method_names = ["get", "put", "head", "options"]

    @extend_schema(
        summary="Thresholds of the built-in types (the tenant's values and the defaults)",
        responses={200: ThresholdsAnswerSerializer},
    )
    def retrieve(self, request):
        return Response({"thresholds": settings_services.effective_thresholds()})

    @extend_schema(
        summary="Replace the thresholds (applies to files scanned from now on)",
        request=ThresholdsSerializer,
        responses={200: ThresholdsAnswerSerializer},
    )
    def update(self, request):
        data = ThresholdsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            settings = settings_services.set_thresholds(
                tenant=request.tenant,
                actor=request.auth,
                request=request,
                thresholds=data.validated_data["thresholds"],
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        rows = settings_services.effective_thresholds(settings.thresholds)
        return Response({"thresholds": rows})


@extend_schema(tags=["content inspection"])
class TestTextViewSet(TenantScopedViewSet):
    """Run the tenant's engine on a text; the answer holds masked values only, nothing is
    stored. Any member's token may use it."""

    model = CustomSensitiveType
    read_action = Action.VIEW
    write_action = Action.VIEW
    http_method_names = ["post", "options"]

    @extend_schema(
        summary="What content inspection finds in a text (masked; nothing stored)",
        request=TestInputSerializer,
        responses={200: TestAnswerSerializer},
    )
    def create(self, request):
        data = TestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            results = settings_services.try_text(data.validated_data["text"])
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response({"results": results})


ROUTES: list = [("dlp/custom-types", CustomTypeViewSet, "api-dlp-custom-types")]
PATHS: list = [
    path(
        "dlp/sensitive-types/",
        SensitiveTypesViewSet.as_view({"get": "list"}),
        name="api-dlp-sensitive-types",
    ),
    path(
        "dlp/thresholds/",
        ThresholdsViewSet.as_view({"get": "retrieve", "put": "update"}),
        name="api-dlp-thresholds",
    ),
    path("dlp/test/", TestTextViewSet.as_view({"post": "create"}), name="api-dlp-test"),
]
