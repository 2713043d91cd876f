"""Role-matrix rows of the privacy pages and API: offboarding (merged by tests/role_matrix.py).

Every member sees the subscription page and status; cancelling, reactivating and the
whole-tenant export need the lifecycle right (global admins only). charlie gets 404 on A's
pages; his token acts on his own tenant B (an empty cancel is invalid, reactivating an active
tenant a conflict, the export of B his to take).
"""

from tests.role_matrix import API_NONE, GLOBAL_ADMIN_ONLY_READ, LOGIN, MEMBERS_READ, NO_POST

_GLOBAL_ADMIN_ACTION = (LOGIN, 403, 403, 302, 404)  # refused with a message: redirect


def _only(**methods) -> dict:
    row = {m: API_NONE for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    row.update(methods)
    return row


ROWS: dict[str, dict[str, tuple]] = {
    "compliance:offboarding": {"GET": MEMBERS_READ, "POST": NO_POST},
    # An empty form lacks the slug: 400 and the page again.
    "compliance:offboarding-cancel": {"GET": NO_POST, "POST": (LOGIN, 403, 403, 400, 404)},
    # Tenant A is active: "only a cancelled tenant can be reactivated", back to the page.
    "compliance:offboarding-reactivate": {"GET": NO_POST, "POST": _GLOBAL_ADMIN_ACTION},
    "compliance:offboarding-export": {"GET": GLOBAL_ADMIN_ONLY_READ, "POST": NO_POST},
    "api-offboarding": _only(GET=(401, 200, 200, 200, 200)),
    "api-offboarding-cancel": _only(POST=(401, 403, 403, 400, 400)),
    "api-offboarding-reactivate": _only(POST=(401, 403, 403, 409, 409)),
    "api-offboarding-export": _only(GET=(401, 403, 403, 200, 200)),
}
