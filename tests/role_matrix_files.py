"""Role-matrix rows of content inspection: files (merged by tests/role_matrix.py).

Every member reads the Files list, a file's page and the API; the CSV export needs EXPORT
(readers 403); manual governance needs RUN_GOVERNANCE (an empty form is refused with a message
and a redirect back to the file); scanning an upload needs MANAGE_POLICIES (`{}` as JSON is not
a file: 415). File URLs are built with a file of tenant A, so charlie gets 404.
"""

from __future__ import annotations

import itertools

from django.forms.models import model_to_dict

from apps.dlp.models import FileRecord, FileSource
from apps.dlp.services import scan_file
from apps.tenants.scoping import tenant_context
from tests.role_matrix import API_NONE, LOGIN, MEMBERS_READ, NO_POST, Built, World, builds

_STRANGER = 404


def _only(**methods) -> dict:
    row = {m: API_NONE for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    row.update(methods)
    return row


ROWS: dict[str, dict[str, tuple]] = {
    "dlp:files": {"GET": MEMBERS_READ, "POST": NO_POST},
    "dlp:files-export": {"GET": (LOGIN, 403, 200, 200, _STRANGER), "POST": NO_POST},
    "dlp:file": {"GET": MEMBERS_READ, "POST": NO_POST},
    "dlp:file-govern": {"GET": NO_POST, "POST": (LOGIN, 403, 302, 302, _STRANGER)},
    # charlie's token reads *his* tenant: 200 with B's files only.
    "api-files-list": _only(GET=(401, 200, 200, 200, 200)),
    "api-files-detail": _only(GET=(401, 200, 200, 200, 404)),
    "api-files-scan": _only(POST=(401, 403, 415, 415, 415)),
}

_numbers = itertools.count(1)


@builds("file_id", "api-files-detail")
def build_file(world: World) -> Built:
    n = next(_numbers)
    with tenant_context(world.tenant_a):
        record = scan_file(
            name=f"matrix-{n}.txt",
            data=b"Card number: 4111 1111 1111 1111",
            source=FileSource.API,
        ).record

    def snapshot():
        with tenant_context(world.tenant_a):
            row = FileRecord.objects.filter(pk=record.pk).first()
            return model_to_dict(row) if row else None

    return Built(
        kwargs={"file_id": record.pk, "id": record.pk},
        snapshot=snapshot,
        secrets=(str(record.pk), record.name),
    )
