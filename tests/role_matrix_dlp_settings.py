"""Role-matrix rows of content inspection: settings (merged by tests/role_matrix.py)."""

from __future__ import annotations

from tests.role_matrix import MEMBERS_READ, NO_POST

ROWS: dict[str, dict[str, tuple]] = {
    "dlp_settings:index": {"GET": MEMBERS_READ, "POST": NO_POST},
}
