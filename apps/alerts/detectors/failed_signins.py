"""Repeated failed sign-ins: more than N failures by one person to one app within T minutes.

Defaults from the spec's template (3.9): single user, single app, more than 10 failed sign-ins
within 5 minutes. Counted per person and app (one alert per app: `Finding.key` is the app):
a failed sign-in is `activity_type == "failed_login"`, or a sign-in whose `succeeded` is False.
MITRE tactic: credential access.
"""

from __future__ import annotations

from apps.activities.categories import ActivityType

from ..models import Severity
from . import register
from .base import Row
from .bursts import BurstDetector

FAILED = ActivityType.FAILED_LOGIN.value
LOGIN = ActivityType.LOGIN.value


@register
class FailedSignins(BurstDetector):
    key = "failed_signins"
    name = "Multiple failed sign-in attempts (by user and app)"
    description = (
        "A person fails to sign in to one app more often than the threshold within a few "
        "minutes (default: more than 10 within 5 minutes): password guessing or spraying."
    )
    tactic = "Credential access"
    severity = Severity.MEDIUM
    noun = "failed sign-ins"
    per_app = True
    default_limit = 10
    default_minutes = 5

    def matches(self, row: Row) -> bool:
        activity = row.activity_type
        return activity == FAILED or (activity == LOGIN and row.succeeded is False)
