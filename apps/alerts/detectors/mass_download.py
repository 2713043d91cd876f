"""Mass download: one person downloads more than N files within T minutes (spec 3.9).

The template's thresholds are the defaults: more than 50 downloads within 1 minute by a single
user, in any app (a download is `activity_type == "download"`, e.g. FileDownloaded, Drive
download, git clone). MITRE tactic: exfiltration ("Unusual file download", spec 2.4).
"""

from __future__ import annotations

from apps.activities.categories import ActivityType

from ..models import Severity
from . import register
from .base import Row
from .bursts import BurstDetector

DOWNLOAD = ActivityType.DOWNLOAD.value


@register
class MassDownload(BurstDetector):
    key = "mass_download"
    name = "Mass download (by user)"
    description = (
        "A person downloads more files than the threshold within a few minutes (default: more "
        "than 50 within 1 minute), which may be data being taken out."
    )
    tactic = "Exfiltration"
    severity = Severity.MEDIUM
    noun = "downloads"
    default_limit = 50
    default_minutes = 1

    def matches(self, row: Row) -> bool:
        return row.activity_type == DOWNLOAD
