"""Role-matrix rows of the privacy pages and API: scope (merged by tests/role_matrix.py).

Every member reads the scoped deployment page, its rules and the privacy groups; changes need
MANAGE_SETTINGS (readers 403). The rule URLs are built with a rule of tenant A, so charlie
(tenant B) gets 404 even from his own token.
"""

from __future__ import annotations

import itertools

from apps.compliance import scope_services
from apps.compliance.models import ScopeRule
from apps.compliance.scope import BUILTIN_EXTERNAL
from apps.tenants.scoping import tenant_context
from tests.role_matrix import API_NONE, LOGIN, MEMBERS_READ, NO_POST, Built, World, builds

_STRANGER = 404
_ADMIN_WRITE = (LOGIN, 403, 400, 400, _STRANGER)  # an empty form is invalid: 400 and the form
_ADMIN_ACTION = (LOGIN, 403, 302, 302, _STRANGER)  # done with a message: back to the page


def _only(**methods) -> dict:
    row = {m: API_NONE for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    row.update(methods)
    return row


ROWS: dict[str, dict[str, tuple]] = {
    "compliance:scope": {"GET": MEMBERS_READ, "POST": _ADMIN_WRITE},
    # The edit page is a write page: readers get 403 there.
    "compliance:scope-rule": {"GET": (LOGIN, 403, 200, 200, _STRANGER), "POST": _ADMIN_WRITE},
    "compliance:scope-rule-delete": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    # An empty form is a valid "no privacy group".
    "compliance:scope-privacy": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    # charlie's token reads and writes *his* tenant: 200 with B's rules, `{}` invalid there.
    "api-privacy-scope-rules-list": _only(
        GET=(401, 200, 200, 200, 200), POST=(401, 403, 400, 400, 400)
    ),
    "api-privacy-scope-rules-detail": _only(
        GET=(401, 200, 200, 200, 404),
        PATCH=(401, 403, 200, 200, 404),  # `{}` is a valid, empty change
        DELETE=(401, 403, 204, 204, 404),
    ),
    "api-privacy-activity-privacy": _only(
        GET=(401, 200, 200, 200, 200), PUT=(401, 403, 400, 400, 400)
    ),
}

_rule_numbers = itertools.count(1)


@builds("rule_id", "api-privacy-scope-rules-detail")
def build_scope_rule(world: World) -> Built:
    n = next(_rule_numbers)
    with tenant_context(world.tenant_a):
        rule = scope_services.create_rule(
            tenant=world.tenant_a,
            actor=None,
            name=f"Matrix scope rule {n}",
            kind="exclude",
            groups=[BUILTIN_EXTERNAL],
        )

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(ScopeRule.objects.filter(pk=rule.pk).values())

    return Built(
        kwargs={"rule_id": rule.pk, "id": rule.pk},
        snapshot=snapshot,
        secrets=(str(rule.pk), rule.name),
    )
