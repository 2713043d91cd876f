"""Role-matrix rows of the privacy pages and API: private (merged by tests/role_matrix.py)."""

from tests.role_matrix import MEMBERS_READ, NO_POST  # noqa: F401

ROWS: dict[str, dict[str, tuple]] = {}
