"""Role-matrix rows and builders of the governance pages and API (merged by role_matrix)."""

from __future__ import annotations

import uuid

from django.utils import timezone

from apps.governance.models import GovernanceAction, GovernanceStatus, Source, TargetType
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.role_matrix import API_NONE, LOGIN, MEMBERS_READ, NO_POST, Built, World, builds

_STRANGER = 404  # charlie on anything of tenant A's

# Running governance needs RUN_GOVERNANCE (not readers); the export needs EXPORT (not readers).
# The run and retry endpoints are POST-only: an empty run form is refused with a message and a
# redirect back; a retry of a failed action redirects to the new action.
_ACTION = (LOGIN, 403, 302, 302, _STRANGER)
_EXPORT = (LOGIN, 403, 200, 200, _STRANGER)

ROWS: dict[str, dict[str, tuple]] = {
    "governance:log": {"GET": MEMBERS_READ, "POST": NO_POST},
    "governance:detail": {"GET": MEMBERS_READ, "POST": NO_POST},
    "governance:export": {"GET": _EXPORT, "POST": NO_POST},
    "governance:run": {"GET": NO_POST, "POST": _ACTION},
    "governance:retry": {"GET": NO_POST, "POST": _ACTION},
    # Readers read the log; requesting needs RUN_GOVERNANCE. `{}` names no action (400), in
    # charlie's own tenant for his token; a retry of a failed action records a new one (201).
    "api-governance-list": {
        "GET": (401, 200, 200, 200, 200),
        "POST": (401, 403, 400, 400, 400),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-governance-detail": {
        "GET": (401, 200, 200, 200, 404),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-governance-retry": {
        "GET": API_NONE,
        "POST": (401, 403, 201, 201, 404),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
}


@builds("action_id", "api-governance-detail", "api-governance-retry")
def build_failed_action(world: World) -> Built:
    """A failed "suspend user" on an Okta account of tenant A (so every role may retry it)."""
    suffix = uuid.uuid4().hex[:8]
    app = logdata.app(world.tenant_a, f"Matrix Okta {suffix}", vendor="okta")
    person = logdata.person(world.tenant_a, f"matrix-{suffix}@alpha.test", f"Matrix {suffix}")
    account = logdata.account(world.tenant_a, app, person, username=person.identity)
    with tenant_context(world.tenant_a):
        action = GovernanceAction.objects.create(
            kind="suspend_user",
            source=Source.MANUAL,
            initiated_by_label="alice@alpha.test",
            app_instance=app,
            target_type=TargetType.ACCOUNT,
            account=account,
            user=person,
            target_ref=account.external_id,
            target_label=person.identity,
            status=GovernanceStatus.FAILED,
            attempts=1,
            error=f"Okta refused matrix-{suffix}",
            finished_at=timezone.now(),
        )

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(GovernanceAction.objects.filter(pk=action.pk).values())

    return Built(
        kwargs={"action_id": action.pk, "id": action.pk},
        snapshot=snapshot,
        secrets=(str(action.pk), person.identity, action.error),
    )
