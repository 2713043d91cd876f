"""Role-matrix rows of the privacy pages and API: retention (merged by tests/role_matrix.py).

Every member reads the retention page, the periods and the purge records; changing a period
needs MANAGE_LIFECYCLE (global admins). An empty form is valid (every period at the maximum):
saved, redirect. In the API, `{}` is a valid PATCH (nothing changes): 200; charlie's token
works in *his* tenant, so he gets 200 there and never sees A's settings.
"""

from __future__ import annotations

from tests.role_matrix import API_NONE, LOGIN, MEMBERS_READ

_STRANGER = 404
_API_READ = (401, 200, 200, 200, 200)


def _api(**methods) -> dict[str, tuple]:
    row = dict.fromkeys(("GET", "POST", "PUT", "PATCH", "DELETE"), API_NONE)
    row.update(methods)
    return row


ROWS: dict[str, dict[str, tuple]] = {
    "compliance:retention": {"GET": MEMBERS_READ, "POST": (LOGIN, 403, 403, 302, _STRANGER)},
    "api-privacy-retention": _api(GET=_API_READ, PATCH=(401, 403, 403, 200, 200)),
    "api-privacy-retention-runs-list": _api(GET=_API_READ),
}
