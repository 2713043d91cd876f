"""Role-matrix rows of the privacy pages and API: location (merged by tests/role_matrix.py)."""

from tests.role_matrix import API_NONE, MEMBERS_READ, NO_POST


def _api_read() -> dict[str, tuple]:
    # Every member's token reads; charlie's token reads *his* tenant (200, B's data only).
    return {
        "GET": (401, 200, 200, 200, 200),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    }


ROWS: dict[str, dict[str, tuple]] = {
    # Read-only for every member, readers too.
    "compliance:location": {"GET": MEMBERS_READ, "POST": NO_POST},
    "api-privacy-data-location": _api_read(),
    "api-privacy-integrations": _api_read(),
}
