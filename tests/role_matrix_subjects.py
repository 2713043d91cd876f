"""Role-matrix rows of the privacy pages and API: data-subject requests (merged by
tests/role_matrix.py).

Everything needs MANAGE_LIFECYCLE (global admins): readers and security admins get 403, on
reads too (requests reveal whom they were about); the page itself opens for every member and
shows them only what it is for. Charlie gets 404 for A's console and
A's requests; his token reads and writes his own tenant B.
"""

from __future__ import annotations

import uuid

from apps.compliance import subjects
from apps.compliance.models import SubjectRequest
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.role_matrix import API_NONE, LOGIN, MEMBERS_READ, NO_POST, Built, World, builds

_STRANGER = 404
_ADMIN_READ = (LOGIN, 403, 403, 200, _STRANGER)
_ADMIN_FORM = (LOGIN, 403, 403, 400, _STRANGER)  # an empty form is invalid: 400 and the form


def _only(**methods) -> dict:
    row = {m: API_NONE for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    row.update(methods)
    return row


ROWS: dict[str, dict[str, tuple]] = {
    # Every member may open the tab (it says who may act); only global admins see requests.
    "compliance:subjects": {"GET": MEMBERS_READ, "POST": _ADMIN_FORM},
    "compliance:subject-erase": {"GET": NO_POST, "POST": _ADMIN_FORM},
    "compliance:subject-detail": {"GET": _ADMIN_READ, "POST": NO_POST},
    "compliance:subject-download": {"GET": _ADMIN_READ, "POST": NO_POST},
    "api-privacy-subject-requests-list": _only(
        GET=(401, 403, 403, 200, 200), POST=(401, 403, 403, 400, 400)
    ),
    "api-privacy-subject-requests-detail": _only(GET=(401, 403, 403, 200, 404)),
    "api-privacy-subject-requests-download": _only(GET=(401, 403, 403, 200, 404)),
}


@builds(
    "compliance:subject-detail",
    "compliance:subject-download",
    "api-privacy-subject-requests-detail",
    "api-privacy-subject-requests-download",
)
def build_request(world: World) -> Built:
    """An export request of tenant A with its archive."""
    suffix = uuid.uuid4().hex[:8]
    identity = f"matrix-subject-{suffix}@alpha.test"
    logdata.person(world.tenant_a, identity, f"Matrix {suffix}")
    with tenant_context(world.tenant_a):
        row = subjects.export(
            tenant=world.tenant_a,
            actor=world.users["alice"],
            query=identity,
            reference=f"matrix-{suffix}",
        )

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(SubjectRequest.objects.filter(pk=row.pk).values())

    return Built(
        kwargs={"request_id": row.pk, "id": row.pk},
        snapshot=snapshot,
        secrets=(str(row.pk), f"matrix-{suffix}"),
    )
