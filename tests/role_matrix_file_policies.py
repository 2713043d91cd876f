"""Role-matrix rows of content inspection: file policies (merged by tests/role_matrix.py)."""

from __future__ import annotations

from tests.role_matrix import MEMBERS_READ, NO_POST

ROWS: dict[str, dict[str, tuple]] = {
    "file_policies:create": {"GET": MEMBERS_READ, "POST": NO_POST},
}
