"""Role-matrix rows of the privacy pages and API: location (merged by tests/role_matrix.py)."""

from tests.role_matrix import MEMBERS_READ, NO_POST

ROWS: dict[str, dict[str, tuple]] = {
    "compliance:location": {"GET": MEMBERS_READ, "POST": NO_POST},
}
