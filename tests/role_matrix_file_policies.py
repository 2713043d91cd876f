"""Role-matrix rows of file policies: console pages and API (merged by tests/role_matrix.py).

Every member reads a file policy; the create and edit pages and every change need
MANAGE_POLICIES (readers 403). Empty forms are invalid (400: a policy needs a name); switching
and deleting are POST-only and redirect. The URLs are built with a file policy of tenant A, so
charlie (tenant B) gets 404, even from his own token.
"""

from __future__ import annotations

import itertools

from apps.alerts.models import Policy, PolicyKind
from apps.dlp import policy_services
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

WRITE_PAGE = (LOGIN, 403, 200, 200, 404)
ACTION = (LOGIN, 403, 302, 302, 404)

ROWS: dict[str, dict[str, tuple]] = {
    "file_policies:create": {"GET": WRITE_PAGE, "POST": ADMIN_WRITE},
    "file_policies:detail": {"GET": MEMBERS_READ, "POST": NO_POST},
    "file_policies:edit": {"GET": WRITE_PAGE, "POST": ADMIN_WRITE},
    "file_policies:enable": {"GET": NO_POST, "POST": ACTION},
    "file_policies:disable": {"GET": NO_POST, "POST": ACTION},
    "file_policies:delete": {"GET": NO_POST, "POST": ACTION},
    # `{}` is an invalid new policy (no name: 400) and a valid, empty change (PATCH: 200).
    # charlie's token creates in *his* tenant (400 for `{}`) and finds nothing of A's (404).
    "api-file-policies-list": {
        "GET": (401, 200, 200, 200, 200),
        "POST": (401, 403, 400, 400, 400),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-file-policies-detail": {
        "GET": (401, 200, 200, 200, 404),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": (401, 403, 200, 200, 404),
        "DELETE": (401, 403, 204, 204, 404),
    },
}

_numbers = itertools.count(1)


@builds("file_policy_id", "api-file-policies-detail")
def build_file_policy(world: World) -> Built:
    n = next(_numbers)
    # One fresh policy per cell; the earlier cells' are done with, and a tenant holds at most
    # 50 file policies.
    with tenant_context(world.tenant_a):
        Policy.objects.filter(kind=PolicyKind.FILE, name__startswith="Matrix file policy").delete()
    policy = policy_services.create_policy(
        tenant=world.tenant_a,
        actor=None,
        name=f"Matrix file policy {n}",
        filters={"sensitive_types": ["payment_card"]},
    )

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(Policy.objects.filter(pk=policy.pk).values())

    return Built(
        kwargs={"file_policy_id": policy.pk, "id": policy.pk},
        snapshot=snapshot,
        secrets=(str(policy.pk), policy.name),
    )
