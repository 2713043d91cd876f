"""Zip archives: every member extracted in memory, nested archives recursed to a depth limit.

Member names are only labels in part names; nothing is ever extracted to a path on disk.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Budget
from .ziputil import open_zip, read_member

# (path, data, budget, depth) -> None: the dispatcher in __init__, passed in to avoid a cycle.
Dispatch = Callable[[str, bytes, Budget, int], None]


def extract_zip(path: str, data: bytes, budget: Budget, depth: int, dispatch: Dispatch) -> None:
    """Extract each file member through the dispatcher, one nesting level deeper."""
    archive = open_zip(data, budget)
    for info in archive.infolist():
        if info.is_dir():
            continue
        member = read_member(archive, info, budget)
        dispatch(f"{path}/{info.filename}", member, budget, depth + 1)
