"""Role-matrix rows of discovery manage pages and API (merged by tests/role_matrix.py)."""

from __future__ import annotations

ROWS: dict[str, dict[str, tuple]] = {}
