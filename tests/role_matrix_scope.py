"""Role-matrix rows of the privacy pages and API: scope (merged by tests/role_matrix.py)."""

from tests.role_matrix import MEMBERS_READ, NO_POST

ROWS: dict[str, dict[str, tuple]] = {
    "compliance:scope": {"GET": MEMBERS_READ, "POST": NO_POST},
}
