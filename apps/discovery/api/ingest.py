"""Discovery API: getting logs in.

- `discovery/sources/` list, create; `discovery/sources/<id>/` read, delete;
- `discovery/sources/<id>/uploads/` POST log files to a data source's continuous report:
  multipart with one or more `file` parts, or the raw file as the body
  (`application/octet-stream` / `application/gzip`, name in `?filename=`) -> 202;
- `discovery/snapshots/` list, and POST (multipart: name, log_format, anonymize, files);
- `discovery/uploads/` list, `discovery/uploads/<id>/` status and progress of one upload.

Reads for every token; writes need `Action.MANAGE_DISCOVERY`. The API accepts JSON only by
default; the upload endpoints alone take multipart or a raw body. Files stream to temporary
files (Django's upload handlers) and from there to the encrypted spool, never whole in memory.
Thin: the rules live in `services` / `services_ingest`.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from apps.tenants.permissions import Action

from .. import services, services_ingest
from ..models import CustomParser, DataSource, Receiver, Report, ReportKind, Upload, UploadSource
from ..services import DiscoveryRefused, IncomingFile

RAW_TYPES = ("application/octet-stream", "application/gzip", "application/x-gzip")
_READ_BLOCK = 256 * 1024


class RawLogParser(BaseParser):
    """Lets a raw log body through content negotiation; the view reads the stream itself."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class GzipLogParser(RawLogParser):
    media_type = "application/gzip"


def _refusal(exc: DiscoveryRefused) -> exceptions.ValidationError:
    return exceptions.ValidationError({exc.field: [str(exc)]})


def _custom_parser(value) -> CustomParser | None:
    if not value:
        return None
    found = CustomParser.objects.filter(pk=value).first()
    if found is None:
        raise exceptions.ValidationError({"custom_parser": ["No such custom parser."]})
    return found


# --- serializers ---------------------------------------------------------------------------------


class UploadSerializer(serializers.ModelSerializer):
    """An upload's status and progress (skip samples give file and line number, never text)."""

    report_name = serializers.CharField(source="report.name", read_only=True)
    files = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id",
            "report",
            "report_name",
            "status",
            "source",
            "error",
            "files",
            "anonymize",
            "bytes_total",
            "bytes_done",
            "lines_done",
            "lines_parsed",
            "lines_skipped",
            "skip_reasons",
            "skip_samples",
            "traffic_from",
            "traffic_until",
            "created_at",
            "started_at",
            "finished_at",
            "created_by_label",
        ]
        read_only_fields = fields

    def get_files(self, obj: Upload) -> list[dict]:
        # The spool name stays internal.
        return [{"name": item["name"], "size": item["size"]} for item in obj.files]


class UploadAcceptedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    report = serializers.UUIDField()
    status_url = serializers.URLField(help_text="GET it for progress (the upload resource).")


class DataSourceSerializer(serializers.ModelSerializer):
    report = serializers.UUIDField(source="report.pk", read_only=True)

    class Meta:
        model = DataSource
        fields = [
            "id",
            "name",
            "log_format",
            "custom_parser",
            "receiver",
            "port",
            "anonymize",
            "created_at",
            "last_data_at",
            "report",
        ]
        read_only_fields = fields


class DataSourceInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    log_format = StrictCharField(
        max_length=40, help_text="A parser key, e.g. `squid_native`, or `custom`."
    )
    custom_parser = serializers.UUIDField(required=False, allow_null=True)
    receiver = serializers.ChoiceField(choices=Receiver.choices, default=Receiver.API)
    port = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=65535)
    anonymize = StrictBooleanField(
        required=False, allow_null=True, default=None, help_text="Default: the tenant default."
    )


class SnapshotSerializer(serializers.ModelSerializer):
    last_upload = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "name",
            "description",
            "log_format",
            "custom_parser",
            "anonymize",
            "created_at",
            "created_by_label",
            "last_upload",
        ]
        read_only_fields = fields

    @extend_schema_field(UploadSerializer(allow_null=True))
    def get_last_upload(self, obj: Report) -> dict | None:
        upload = next(iter(obj.uploads.all()), None)
        return UploadSerializer(upload).data if upload else None


class SnapshotInputSerializer(serializers.Serializer):
    """Multipart fields of a snapshot (the files are `files` or `file` parts, up to 20)."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    log_format = serializers.CharField(max_length=40)
    custom_parser = serializers.UUIDField(required=False, allow_null=True)
    anonymize = serializers.BooleanField(required=False, help_text="Default: the tenant default.")
    files = serializers.ListField(child=serializers.FileField(), required=False)


class FilesSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.FileField(), help_text="One or more parts.")


def _accepted(request, upload: Upload) -> Response:
    url = reverse("api-discovery-uploads-detail", kwargs={"id": upload.pk})
    body = {
        "id": upload.pk,
        "status": upload.status,
        "report": upload.report_id,
        "status_url": request.build_absolute_uri(url),
    }
    return Response(UploadAcceptedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def _incoming(request, names: tuple[str, ...]) -> list[IncomingFile]:
    """The request's files: multipart parts named `names`, or the raw body."""
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type in RAW_TYPES:
        stream = request.stream
        if stream is None:
            return []
        name = request.query_params.get("filename") or "upload.log"
        return [IncomingFile(name, iter(lambda: stream.read(_READ_BLOCK), b""))]
    if content_type != "multipart/form-data":
        raise exceptions.UnsupportedMediaType(content_type or "none")
    parts = []
    for name in names:
        parts.extend(request.FILES.getlist(name))
    return [IncomingFile(part.name, part.chunks()) for part in parts]


# --- viewsets ------------------------------------------------------------------------------------


@extend_schema(tags=["discovery"])
@extend_schema_view(
    list=extend_schema(summary="List data sources"),
    retrieve=extend_schema(summary="One data source"),
    create=extend_schema(
        summary="Create a data source (and its continuous report)",
        request=DataSourceInputSerializer,
        responses={201: DataSourceSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a data source with its report and data", responses={204: None}
    ),
    uploads=extend_schema(
        summary="Upload log files to a data source",
        description="Multipart with one or more `file` parts (plain, .gz or .zip), or the file "
        "itself as the body with `Content-Type: application/octet-stream` or "
        "`application/gzip` and its name in `?filename=`. Answers 202 with the upload's id; "
        "GET its `status_url` for progress.",
        parameters=[OpenApiParameter("filename", OpenApiTypes.STR, required=False)],
        request={
            "multipart/form-data": FilesSerializer,
            "application/octet-stream": OpenApiTypes.BINARY,
            "application/gzip": OpenApiTypes.BINARY,
        },
        responses={202: UploadAcceptedSerializer},
    ),
)
class DataSourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Data sources: one device's logs feeding a continuous report."""

    model = DataSource
    serializer_class = DataSourceSerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_DISCOVERY
    http_method_names = ["get", "post", "delete", "head", "options"]
    parser_classes = [JSONParser]

    def scoped_queryset(self):
        return DataSource.objects.select_related("report").order_by("name")

    def create(self, request, *args, **kwargs):
        data = DataSourceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            services_ingest.check_receiver(values["receiver"], values.get("port"))
            source = services.create_data_source(
                name=values["name"],
                log_format=values["log_format"],
                custom_parser=_custom_parser(values.get("custom_parser")),
                receiver=values["receiver"],
                port=values.get("port"),
                anonymize=values.get("anonymize"),
                actor=request.auth,
                request=request,
            )
        except DiscoveryRefused as exc:
            raise _refusal(exc) from exc
        source = self.scoped_queryset().get(pk=source.pk)
        return Response(DataSourceSerializer(source).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        source = self.get_object()
        services_ingest.delete_data_source(data_source=source, actor=request.auth, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(
        detail=True,
        methods=["post"],
        parser_classes=[MultiPartParser, RawLogParser, GzipLogParser],
    )
    def uploads(self, request, *args, **kwargs):
        source = self.get_object()
        files = _incoming(request, ("file", "files"))
        try:
            upload = services.upload_to_source(
                data_source=source, files=files, actor=request.auth, source=UploadSource.API
            )
        except DiscoveryRefused as exc:
            raise _refusal(exc) from exc
        return _accepted(request, upload)


@extend_schema(tags=["discovery"])
@extend_schema_view(
    list=extend_schema(summary="List snapshot reports with their upload's status"),
    create=extend_schema(
        summary="Create a snapshot report from log files",
        description="Multipart: `name`, `log_format`, optional `description`, `custom_parser` "
        "and `anonymize`, and up to 20 `files` parts (plain, .gz or .zip). Answers 202 with "
        "the upload's id; GET its `status_url` for progress.",
        request={"multipart/form-data": SnapshotInputSerializer},
        responses={202: UploadAcceptedSerializer},
    ),
)
class SnapshotViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    """Snapshot reports: one manual upload each."""

    model = Report
    serializer_class = SnapshotSerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_DISCOVERY
    http_method_names = ["get", "post", "head", "options"]
    parser_classes = [MultiPartParser]

    def scoped_queryset(self):
        uploads = Upload.objects.select_related("report").order_by("-created_at")
        return (
            Report.objects.filter(kind=ReportKind.SNAPSHOT)
            .prefetch_related(Prefetch("uploads", queryset=uploads))
            .order_by("-created_at")
        )

    def create(self, request, *args, **kwargs):
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type != "multipart/form-data":
            raise exceptions.UnsupportedMediaType(content_type or "none")
        data = SnapshotInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        anonymize = values.get("anonymize") if "anonymize" in request.data else None
        files = _incoming(request, ("files", "file"))
        try:
            upload = services.create_snapshot(
                name=values["name"],
                description=values.get("description", ""),
                log_format=values["log_format"],
                custom_parser=_custom_parser(values.get("custom_parser")),
                anonymize=anonymize,
                files=files,
                actor=request.auth,
                request=request,
                source=UploadSource.API,
            )
        except DiscoveryRefused as exc:
            raise _refusal(exc) from exc
        return _accepted(request, upload)


@extend_schema(tags=["discovery"])
@extend_schema_view(
    list=extend_schema(summary="List uploads, newest first"),
    retrieve=extend_schema(summary="An upload's status, progress and skipped lines"),
)
class UploadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Uploads (processing runs) of snapshot and continuous reports."""

    model = Upload
    serializer_class = UploadSerializer
    read_action = Action.VIEW
    http_method_names = ["get", "head", "options"]

    def scoped_queryset(self):
        return Upload.objects.select_related("report").order_by("-created_at")


ROUTES = [
    ("sources", DataSourceViewSet, "api-discovery-sources"),
    ("snapshots", SnapshotViewSet, "api-discovery-snapshots"),
    ("uploads", UploadViewSet, "api-discovery-uploads"),
]
PATHS: list = []
