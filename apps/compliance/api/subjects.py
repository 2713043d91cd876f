"""Privacy API: data-subject requests (under /api/v1/privacy/subject-requests/).

- GET  subject-requests/                 past requests, newest first, with their receipts
- POST subject-requests/                 {"kind": "export"|"erase", "subject", "reference"}:
                                         runs it and answers 201 with the request and counts
- GET  subject-requests/<id>/            one request and its receipt
- GET  subject-requests/<id>/download/   an export's archive (ZIP, audited); gone -> 409

Everything needs the tenant-lifecycle right (global admins; readers and security admins 403).
An empty, unknown or ambiguous subject is a 400 naming `subject`. The person is never echoed
back: requests carry a masked label only.
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from apps.activities.api import JSONAnswers
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.errors import Conflict, ErrorSerializer
from apps.tenants.api.fields import StrictCharField
from apps.tenants.permissions import Action

from .. import subject_export, subjects
from ..models import SubjectRequest, SubjectRequestKind


# `kind` and `status` as plain text: a choice field named "kind" collides with other areas'
# enums in the schema (drf-spectacular names enums by field name).
class SubjectRequestSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(help_text="`export` or `erase`.")
    status = serializers.CharField(help_text="`running`, `done` or `failed`.")
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="The receipt: rows found (export) or removed / redacted (erase) per kind.",
    )
    archive_available = serializers.SerializerMethodField()

    class Meta:
        model = SubjectRequest
        fields = [
            "id",
            "kind",
            "status",
            "subject_label",
            "reference",
            "counts",
            "error",
            "requested_by_label",
            "created_at",
            "finished_at",
            "archive_available",
        ]
        read_only_fields = fields

    def get_archive_available(self, row) -> bool:
        return subject_export.available(self.context["request"].tenant, row)


class SubjectRequestInputSerializer(serializers.Serializer):
    kind = StrictCharField(max_length=10, help_text="`export` or `erase` (the person).")
    subject = StrictCharField(
        max_length=254,
        help_text="The person's identity (email/UPN), or an account's username, email or "
        "external id.",
    )
    reference = StrictCharField(max_length=200, help_text="Your ticket number or reason.")

    def validate_kind(self, value: str) -> str:
        if value not in SubjectRequestKind.values:
            raise serializers.ValidationError('Use "export" or "erase".')
        return value

    def validate_subject(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Enter the person's identity, email or username.")
        return value.strip()

    def validate_reference(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Enter a ticket number or reason.")
        return value.strip()


_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input (e.g. unknown person)."),
    403: OpenApiResponse(ErrorSerializer, description="Not a global admin."),
}


@extend_schema(tags=["privacy"])
@extend_schema_view(
    list=extend_schema(summary="Data-subject requests, newest first, with their receipts"),
    retrieve=extend_schema(summary="One data-subject request and its receipt"),
    create=extend_schema(
        summary="Export everything about a person, or erase them",
        request=SubjectRequestInputSerializer,
        description="The request is recorded at once (status `pending`) and runs in the "
        "background: follow `Location` (or GET the request) until its status is `done` (the "
        "receipt is in `counts`; an export's archive can then be downloaded) or `failed`.",
        responses={202: SubjectRequestSerializer, **_ERRORS},
    ),
)
class SubjectRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Data-subject requests: export or erase one person (global admins)."""

    model = SubjectRequest
    serializer_class = SubjectRequestSerializer
    read_action = Action.MANAGE_LIFECYCLE
    write_action = Action.MANAGE_LIFECYCLE
    http_method_names = ["get", "post", "head", "options"]
    content_negotiation_class = JSONAnswers

    def scoped_queryset(self):
        return SubjectRequest.objects.order_by("-created_at")

    def create(self, request, *args, **kwargs):
        body = SubjectRequestInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            row = subjects.submit(
                tenant=request.tenant,
                kind=data["kind"],
                actor=request.auth,
                query=data["subject"],
                reference=data["reference"],
                request=request,
            )
        except subjects.SubjectRefused as exc:
            raise exceptions.ValidationError({exc.field: [str(exc)]}) from exc
        data = SubjectRequestSerializer(row, context={"request": request}).data
        response = Response(data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse(
            "api-privacy-subject-requests-detail", args=[row.pk], request=request
        )
        return response

    @extend_schema(
        summary="Download an export's archive (ZIP of CSV and JSON per kind; audited)",
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            409: OpenApiResponse(
                ErrorSerializer, description="Not an export, or its archive is gone."
            ),
        },
    )
    @action(detail=True, methods=["get"])
    def download(self, request, *args, **kwargs):
        row = self.get_object()
        try:
            stream = subjects.open_export(
                tenant=request.tenant, actor=request.auth, row=row, request=request
            )
        except subject_export.ExportGone as exc:
            raise Conflict(str(exc)) from exc
        response = StreamingHttpResponse(stream, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="subject-export-{row.pk}.zip"'
        return response


ROUTES: list = [("subject-requests", SubjectRequestViewSet, "api-privacy-subject-requests")]
PATHS: list = []  # extra url patterns
