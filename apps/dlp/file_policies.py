"""File policies applied to one scanned file.

`apply(record, results, now=...)` runs inside the scan's transaction: it returns the enabled
file policies (`alerts.Policy`, kind `file`) the file matches and whether one of them says
block. Conditions, alerts and governance actions are added by the file policy module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from apps.alerts.models import Policy, PolicyKind


@dataclass
class Decision:
    """What the file policies decided for one file."""

    policy_ids: list = field(default_factory=list)
    block: bool = False


def apply(record, results: dict, *, now: datetime) -> Decision:
    decision = Decision()
    if not Policy.objects.filter(kind=PolicyKind.FILE, enabled=True).exists():
        return decision
    return decision
