"""Role-matrix rows and builders of the governance pages and endpoints (merged by tests/role_matrix.py)."""

from __future__ import annotations

from tests.role_matrix import MEMBERS_READ, NO_POST

ROWS: dict[str, dict[str, tuple]] = {
    "governance:log": {"GET": MEMBERS_READ, "POST": NO_POST},
}
