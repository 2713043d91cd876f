"""Role-matrix rows and builders of the policies pages and endpoints (merged by role_matrix)."""

from __future__ import annotations

import itertools

from apps.alerts import policy_services
from apps.alerts.models import Policy, PolicyKind
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

# Write pages (create, edit) are closed to readers; POST-only actions redirect.
WRITE_PAGE = (LOGIN, 403, 200, 200, 404)
ACTION = (LOGIN, 403, 302, 302, 404)

ROWS: dict[str, dict[str, tuple]] = {
    # Every member reads the lists, a policy and a detection's settings; changes need
    # MANAGE_POLICIES. Empty forms are invalid (400): a policy needs a name, a detection a
    # severity. Switching on/off and deleting are POST-only and redirect.
    "policies:list": {"GET": MEMBERS_READ, "POST": NO_POST},
    "policies:detections": {"GET": MEMBERS_READ, "POST": NO_POST},
    "policies:templates": {"GET": MEMBERS_READ, "POST": NO_POST},
    "policies:create": {"GET": WRITE_PAGE, "POST": ADMIN_WRITE},
    "policies:detail": {"GET": MEMBERS_READ, "POST": NO_POST},
    "policies:edit": {"GET": WRITE_PAGE, "POST": ADMIN_WRITE},
    "policies:detection": {"GET": MEMBERS_READ, "POST": ADMIN_WRITE},
    "policies:enable": {"GET": NO_POST, "POST": ACTION},
    "policies:disable": {"GET": NO_POST, "POST": ACTION},
    "policies:delete": {"GET": NO_POST, "POST": ACTION},
    # Readers read; writes need MANAGE_POLICIES. `{}` is an invalid policy (no name: 400) for a
    # create or a replace (PUT), and a valid, empty change (PATCH: 200). charlie's token creates
    # in *his* tenant (400 for `{}`) and finds nothing of A's (404).
    "api-policies-list": {
        "GET": (401, 200, 200, 200, 200),
        "POST": (401, 403, 400, 400, 400),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-policies-detail": {
        "GET": (401, 200, 200, 200, 404),
        "POST": API_NONE,
        "PUT": (401, 403, 400, 400, 404),
        "PATCH": (401, 403, 200, 200, 404),
        "DELETE": (401, 403, 204, 204, 404),
    },
    "api-policies-templates": {
        "GET": (401, 200, 200, 200, 200),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
}

_numbers = itertools.count(1)


def _snapshot(world: World, pk):
    def snapshot():
        with tenant_context(world.tenant_a):
            return list(Policy.objects.filter(pk=pk).values())

    return snapshot


@builds("policy_id", "api-policies-detail")
def build_policy(world: World) -> Built:
    n = next(_numbers)
    policy = policy_services.create_policy(
        tenant=world.tenant_a,
        actor=None,
        name=f"Matrix policy {n}",
        filters={"location.country": {"eq": ["FR"]}},
    )
    return Built(
        kwargs={"policy_id": policy.pk, "id": policy.pk},
        snapshot=_snapshot(world, policy.pk),
        secrets=(str(policy.pk), policy.name),
    )


@builds("policies:detection")
def build_detection(world: World) -> Built:
    """A detection's settings row (of a key no registered detection uses, so it is fresh)."""
    n = next(_numbers)
    with tenant_context(world.tenant_a):
        policy = Policy.objects.create(
            kind=PolicyKind.ANOMALY, detector=f"matrix-probe-{n}", name=f"Matrix detection {n}"
        )
    return Built(
        kwargs={"policy_id": policy.pk},
        snapshot=_snapshot(world, policy.pk),
        secrets=(str(policy.pk), policy.name),
    )
