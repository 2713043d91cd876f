"""DLP API: files (see apps/dlp/api/__init__.py).

- GET  /files/?<filters>     the Files list's filters (`apps/dlp/filtersets.py`; spec 7.5 names
                             `fileType`, `sharing`, `filename`, `fileId`, `mimeType` are
                             accepted as aliases), page-number pages
- GET  /files/<id>/          one file with its matches and their masked samples
- POST /files/scan/          scan an uploaded file now: multipart with a `file` part, or the
                             bytes as the body (`application/octet-stream`) with `?name=`;
                             at most 50 MB (413 above). Answers 201 with the record, its
                             verdict, matches and matched policies; 409 for a cancelled
                             tenant. Source `api`; the content is inspected in memory and
                             never stored.

Reading needs VIEW; scanning needs MANAGE_POLICIES (it runs the file policies).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response

from apps.activities.api import AppRefSerializer
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.errors import Conflict, ErrorSerializer
from apps.tenants.gate import CollectionStopped, collection_stopped
from apps.tenants.permissions import Action

from .. import selectors
from ..filtersets import FileFilterSet
from ..models import FileRecord, FileSource
from ..services import scan_file

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_MULTIPART_OVERHEAD = 64 * 1024  # part headers and boundaries around the file
_READ_BLOCK = 256 * 1024


def max_bytes() -> int:
    return int(getattr(settings, "DLP_API_SCAN_MAX_BYTES", DEFAULT_MAX_BYTES))


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The file is too large."
    default_code = "too_large"


def _too_large() -> PayloadTooLarge:
    limit = max_bytes()
    return PayloadTooLarge(
        f"The file is larger than {limit // (1024 * 1024) or limit} "
        f"{'MB' if limit >= 1024 * 1024 else 'bytes'}, the most a scan takes; nothing was stored."
    )


class RawFileParser(BaseParser):
    """Lets a raw file body through content negotiation; the view reads the stream itself."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class _WholeInMemory(MemoryFileUploadHandler):
    """Keeps an uploaded part in memory whatever its size (the view bounded the body first),
    so the content never touches a temporary file."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = True


# --- Serializers ---------------------------------------------------------------------------


class SampleSerializer(serializers.Serializer):
    part = serializers.CharField(help_text="Where in the file (e.g. a sheet or an archive member).")
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    evidence = serializers.CharField(help_text="The matched value, digits as # and letters as X.")
    context = serializers.CharField(help_text="At most 100 characters around it, digits as #.")
    confidence = serializers.CharField()


class MatchSerializer(serializers.Serializer):
    type_key = serializers.CharField()
    type_label = serializers.CharField()
    count = serializers.IntegerField()
    confidence = serializers.CharField(help_text="low, medium or high.")
    samples = SampleSerializer(many=True)


class FilePolicyRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class FileSerializer(serializers.ModelSerializer):
    # A plain string (not an enum component): other `source` fields of the API have enums of
    # their own, and a second unnamed one would collide.
    source = serializers.CharField(
        read_only=True, help_text="`app` (connected app), `icap` or `api` (an upload)."
    )
    app = AppRefSerializer(source="app_instance", read_only=True, allow_null=True)
    file_id = serializers.CharField(
        source="external_id", read_only=True, help_text="The app's id of the file."
    )
    file_type_label = serializers.CharField(source="get_file_type_display", read_only=True)
    access_level_label = serializers.CharField(source="get_access_level_display", read_only=True)
    status_text = serializers.CharField(
        read_only=True, help_text='"Completed", "Pending" or "not scanned: <reason>".'
    )
    matched_policies = serializers.ListField(
        child=serializers.UUIDField(), read_only=True, help_text="Ids of file policies."
    )
    matched_types = serializers.ListField(child=serializers.CharField(), read_only=True)
    external_domains = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = FileRecord
        fields = [
            "id",
            "name",
            "source",
            "app",
            "file_id",
            "extension",
            "size",
            "mime_type",
            "file_type",
            "file_type_label",
            "sha256",
            "owner",
            "location",
            "access_level",
            "access_level_label",
            "external_domains",
            "quarantined",
            "scan_status",
            "status_text",
            "verdict",
            "match_count",
            "matched_types",
            "matched_policies",
            "first_seen_at",
            "scanned_at",
            "modified_in_app_at",
        ]
        read_only_fields = fields


class FileDetailSerializer(FileSerializer):
    matches = serializers.SerializerMethodField()
    policies = serializers.SerializerMethodField()

    class Meta(FileSerializer.Meta):
        fields = [*FileSerializer.Meta.fields, "policies", "matches"]
        read_only_fields = fields

    @extend_schema_field(MatchSerializer(many=True))
    def get_matches(self, obj: FileRecord) -> list[dict]:
        return [
            {
                "type_key": item["match"].type_key,
                "type_label": item["match"].type_label,
                "count": item["match"].count,
                "confidence": item["match"].confidence,
                "samples": item["samples"],
            }
            for item in selectors.matches(obj)
        ]

    @extend_schema_field(FilePolicyRefSerializer(many=True))
    def get_policies(self, obj: FileRecord) -> list[dict]:
        return [{"id": p["id"], "name": p["name"]} for p in selectors.policies_of(obj)]


class ScanUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The file to scan (at most 50 MB).")


# --- Viewset -------------------------------------------------------------------------------


def _clean_name(value: str) -> str:
    name = os.path.basename(value.replace("\\", "/")).strip()
    return "".join(ch for ch in name if ch.isprintable())[:500]


@extend_schema(tags=["files"])
@extend_schema_view(
    list=extend_schema(summary="Inspected files, newest scan first"),
    retrieve=extend_schema(
        summary="One file with its matches (masked samples) and matched policies",
        responses={200: FileDetailSerializer},
    ),
    scan=extend_schema(
        summary="Scan a file now (content inspected in memory, never stored)",
        description="Multipart with a `file` part, or the bytes as the body with "
        "`Content-Type: application/octet-stream` and the file's name in `?name=`. At most "
        "50 MB: a larger file is refused with 413 and nothing is stored. The tenant's file "
        "policies run on the result. Answers 201 with the record, its verdict, matches and "
        "matched policies.",
        parameters=[OpenApiParameter("name", OpenApiTypes.STR, required=False)],
        request={
            "multipart/form-data": ScanUploadSerializer,
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        responses={
            201: FileDetailSerializer,
            400: OpenApiResponse(ErrorSerializer, description="No file, or an empty one."),
            409: OpenApiResponse(
                ErrorSerializer, description="The tenant is cancelled: nothing new is taken."
            ),
            413: OpenApiResponse(ErrorSerializer, description="Larger than 50 MB."),
            415: OpenApiResponse(ErrorSerializer, description="Not multipart nor raw bytes."),
        },
    ),
)
class FileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Files inspected by content inspection: metadata and masked matches, never content."""

    model = FileRecord
    serializer_class = FileSerializer
    filterset_class = FileFilterSet
    read_action = Action.VIEW
    write_action = Action.MANAGE_POLICIES
    http_method_names = ["get", "post", "head", "options"]

    def scoped_queryset(self):
        return selectors.files()

    def get_serializer_class(self):
        if self.action in ("retrieve", "scan"):
            return FileDetailSerializer
        return FileSerializer

    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, RawFileParser])
    def scan(self, request, *args, **kwargs):
        stopped = collection_stopped(request.tenant)
        if stopped:  # cancelled: the grace period keeps what is there, takes nothing new
            raise Conflict(stopped)
        name, data = self._incoming(request)
        if not data:
            raise serializers.ValidationError({"file": ["The file is empty: nothing to scan."]})
        try:
            result = scan_file(name=name, data=data, source=FileSource.API)
        except CollectionStopped as exc:  # cancelled while this request ran
            raise Conflict(str(exc)) from exc
        del data
        record = selectors.file(result.record.pk)
        return Response(FileDetailSerializer(record).data, status=status.HTTP_201_CREATED)

    def _incoming(self, request) -> tuple[str, bytes]:
        limit = max_bytes()
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError as exc:
            raise exceptions.ParseError("Content-Length is not a number.") from exc
        if content_type == "application/octet-stream":
            if declared > limit:
                raise _too_large()
            name = _clean_name(
                request.query_params.get("name") or request.query_params.get("filename") or ""
            )
            if not name:
                raise serializers.ValidationError(
                    {"name": ["Give the file's name in ?name= (its extension tells its format)."]}
                )
            return name, self._read_raw(request, limit)
        if content_type != "multipart/form-data":
            raise exceptions.UnsupportedMediaType(
                content_type or "none",
                detail="Send the file as multipart/form-data (a part named `file`) or as "
                "application/octet-stream with ?name=.",
            )
        if declared > limit + _MULTIPART_OVERHEAD:
            raise _too_large()
        request._request.upload_handlers = [_WholeInMemory(request._request)]
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError(
                {"file": ["Send the file as a multipart part named `file`."]}
            )
        if upload.size > limit:
            raise _too_large()
        name = _clean_name(request.query_params.get("name") or upload.name or "")
        if not name:
            raise serializers.ValidationError({"file": ["The file has no name."]})
        return name, upload.read()

    @staticmethod
    def _read_raw(request, limit: int) -> bytes:
        stream = request.stream
        if stream is None:
            return b""
        parts, size = [], 0
        while block := stream.read(_READ_BLOCK):
            size += len(block)
            if size > limit:
                raise _too_large()
            parts.append(block)
        return b"".join(parts)


ROUTES: list = [("files", FileViewSet, "api-files")]  # (prefix under /api/v1/, viewset, basename)
PATHS: list = []  # extra url patterns, with their full path under /api/v1/
