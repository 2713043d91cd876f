"""Role-matrix rows of private activities (merged by tests/role_matrix.py).

Revealing private activities needs VIEW_PRIVATE (global admins): the justification page is theirs
alone, and an empty justification is invalid (400, the form again). Hiding is a POST-only form;
it needs the same right and sends the admin back to the log.
"""

from __future__ import annotations

from tests.role_matrix import GLOBAL_ADMIN_ONLY_READ, GLOBAL_ADMIN_WRITE, LOGIN, NO_POST

_STRANGER = 404

ROWS: dict[str, dict[str, tuple]] = {
    "activities:reveal-private": {"GET": GLOBAL_ADMIN_ONLY_READ, "POST": GLOBAL_ADMIN_WRITE},
    "activities:hide-private": {"GET": NO_POST, "POST": (LOGIN, 403, 403, 302, _STRANGER)},
}
