"""Role-matrix rows of discovery ingest pages and API (merged by tests/role_matrix.py).

Every member reads snapshot reports, uploads, data sources and parsers; writes need
MANAGE_DISCOVERY (security admin, global admin). Empty forms are invalid (400, the form again);
the delete endpoints redirect after deleting. In the API, `{}` as JSON is an invalid data source
(400) and an unsupported media type for the upload endpoints (415: they take multipart or a raw
body); charlie's token works in *his* tenant (so 400/415 there) and gets 404 for A's objects.
"""

from __future__ import annotations

import itertools

from apps.discovery import services, services_ingest
from apps.discovery.models import (
    CustomParser,
    DataSource,
    Report,
    ReportKind,
    Upload,
    UploadStatus,
)
from apps.tenants.scoping import tenant_context
from tests.role_matrix import (
    ADMIN_WRITE,
    API_NONE,
    LOGIN,
    MEMBERS_READ,
    NO_POST,
    Built,
    World,
    builds,
)

_STRANGER = 404
_DELETE_PAGE = (LOGIN, 403, 200, 200, _STRANGER)  # the confirmation page is a write page
_DELETED = (LOGIN, 403, 302, 302, _STRANGER)
_API_READ_LIST = (401, 200, 200, 200, 200)
_API_READ_ONE = (401, 200, 200, 200, 404)


def _api(**methods) -> dict[str, tuple]:
    row = dict.fromkeys(("GET", "POST", "PUT", "PATCH", "DELETE"), API_NONE)
    row.update(methods)
    return row


ROWS: dict[str, dict[str, tuple]] = {
    "discovery:snapshots": {"GET": MEMBERS_READ, "POST": ADMIN_WRITE},
    "discovery:upload": {"GET": MEMBERS_READ, "POST": NO_POST},
    "discovery:sources": {"GET": MEMBERS_READ, "POST": ADMIN_WRITE},
    "discovery:source": {"GET": MEMBERS_READ, "POST": ADMIN_WRITE},
    "discovery:source-delete": {"GET": _DELETE_PAGE, "POST": _DELETED},
    "discovery:parsers": {"GET": MEMBERS_READ, "POST": ADMIN_WRITE},
    "discovery:parser": {"GET": MEMBERS_READ, "POST": ADMIN_WRITE},
    "discovery:parser-delete": {"GET": NO_POST, "POST": _DELETED},
    "api-discovery-sources-list": _api(GET=_API_READ_LIST, POST=(401, 403, 400, 400, 400)),
    "api-discovery-sources-detail": _api(GET=_API_READ_ONE, DELETE=(401, 403, 204, 204, 404)),
    "api-discovery-sources-uploads": _api(POST=(401, 403, 415, 415, 404)),
    "api-discovery-snapshots-list": _api(GET=_API_READ_LIST, POST=(401, 403, 415, 415, 415)),
    "api-discovery-uploads-list": _api(GET=_API_READ_LIST),
    "api-discovery-uploads-detail": _api(GET=_API_READ_ONE),
}

_numbers = itertools.count(1)


@builds("source_id", "api-discovery-sources-detail", "api-discovery-sources-uploads")
def build_data_source(world: World) -> Built:
    n = next(_numbers)
    with tenant_context(world.tenant_a):
        source = services.create_data_source(
            name=f"Matrix source {n}", log_format="squid_native", actor="matrix"
        )

    def snapshot():
        with tenant_context(world.tenant_a):
            return (
                list(DataSource.objects.filter(pk=source.pk).values()),
                Upload.objects.filter(report__data_source_id=source.pk).count(),
            )

    return Built(
        kwargs={"source_id": source.pk, "id": source.pk},
        snapshot=snapshot,
        secrets=(str(source.pk), source.name),
    )


@builds("upload_id", "api-discovery-uploads-detail")
def build_upload(world: World) -> Built:
    n = next(_numbers)
    # Made directly (already finished): no spool file is needed to look at it.
    with tenant_context(world.tenant_a):
        report = Report.objects.create(
            name=f"Matrix snapshot {n}", kind=ReportKind.SNAPSHOT, log_format="squid_native"
        )
        upload = Upload.objects.create(
            report=report,
            source="api",
            status=UploadStatus.DONE,
            files=[{"name": f"matrix-{n}.log", "size": 10, "spool": "gone"}],
        )

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(Upload.objects.filter(pk=upload.pk).values())

    return Built(
        kwargs={"upload_id": upload.pk, "id": upload.pk},
        snapshot=snapshot,
        secrets=(str(upload.pk), report.name, f"matrix-{n}.log"),
    )


@builds("parser_id")
def build_parser(world: World) -> Built:
    n = next(_numbers)
    with tenant_context(world.tenant_a):
        parser = services_ingest.create_custom_parser(
            data={
                "name": f"Matrix parser {n}",
                "delimiter": "comma",
                "has_header": True,
                "timestamp_column": "time",
                "timestamp_format": "epoch",
                "src_ip_column": "src",
                "host_column": "host",
            },
            actor="matrix",
        )

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(CustomParser.objects.filter(pk=parser.pk).values())

    return Built(
        kwargs={"parser_id": parser.pk},
        snapshot=snapshot,
        secrets=(str(parser.pk), parser.name),
    )
