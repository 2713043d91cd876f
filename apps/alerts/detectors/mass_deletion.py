"""Mass deletion: one person deletes more than N items within T minutes.

The spec gives no template threshold for deletions (2.4 "Unusual file deletion activity" is a
baseline model). Default: more than 50 deletions within 5 minutes. Fifty matches the download
template, so the two read alike; the window is longer because deleting by hand is slower than
downloading, while a script, a wiper or ransomware removing files item by item passes 50 in
well under five minutes; a tenant that expects bulk clean-ups raises it. Counted:
`activity_type == "delete"` (files, folders, mail items); deleting a user is `delete_user` and
is not counted. MITRE tactic: impact.
"""

from __future__ import annotations

from apps.activities.categories import ActivityType

from ..models import Severity
from . import register
from .base import Row
from .bursts import BurstDetector

DELETE = ActivityType.DELETE.value


@register
class MassDeletion(BurstDetector):
    key = "mass_deletion"
    name = "Mass deletion (by user)"
    description = (
        "A person deletes more items than the threshold within a few minutes (default: more "
        "than 50 within 5 minutes), as a wiper, ransomware or a disgruntled user would."
    )
    tactic = "Impact"
    severity = Severity.HIGH
    noun = "deletions"
    default_limit = 50
    default_minutes = 5

    def matches(self, row: Row) -> bool:
        return row.activity_type == DELETE
