"""Role-matrix rows of content inspection: the ICAP service (merged by tests/role_matrix.py).

Every member reads the settings page; changing them or generating a secret needs
MANAGE_SETTINGS (readers 403). The API works on the token's own tenant, so charlie's token
reads and changes tenant B's settings (200/400/201), never A's.
"""

from __future__ import annotations

from tests.role_matrix import ADMIN_WRITE, API_NONE, LOGIN, MEMBERS_READ, NO_POST


def _only(**methods) -> dict:
    row = {m: API_NONE for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    row.update(methods)
    return row


ROWS: dict[str, dict[str, tuple]] = {
    # An empty form has no mode: 400 and the form again.
    "icap:settings": {"GET": MEMBERS_READ, "POST": ADMIN_WRITE},
    # POST-only; the new secret is shown once on the answer page (201).
    "icap:secret": {"GET": NO_POST, "POST": (LOGIN, 403, 201, 201, 404)},
    "api-icap-settings": _only(GET=(401, 200, 200, 200, 200), PUT=(401, 403, 400, 400, 400)),
    "api-icap-secret": _only(POST=(401, 403, 201, 201, 201)),
}
