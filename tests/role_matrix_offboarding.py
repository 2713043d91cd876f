"""Role-matrix rows of the privacy pages and API: offboarding (merged by tests/role_matrix.py)."""

from tests.role_matrix import MEMBERS_READ, NO_POST

ROWS: dict[str, dict[str, tuple]] = {
    "compliance:offboarding": {"GET": MEMBERS_READ, "POST": NO_POST},
}
